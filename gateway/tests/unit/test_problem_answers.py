"""A backend's refusal reaches the HTTP caller with what it needs to act on it."""

from __future__ import annotations

import json

import grpc
from aiohttp.test_utils import make_mocked_request

from gateway.problems import answer_for
from platform_core.errors import LimitExceeded, NotFound
from platform_core.grpc.errors import to_status


def _rpc_error(error: LimitExceeded | NotFound) -> grpc.aio.AioRpcError:
    code, message, trailers = to_status(error)
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(*trailers), message)


def test_a_backends_rate_limit_answers_429_with_retry_after() -> None:
    answer = answer_for(make_mocked_request("POST", "/x"), _rpc_error(LimitExceeded("slow down", retry_after=30)))
    assert answer.status == 429
    assert answer.headers["Retry-After"] == "30"
    assert answer.text is not None and json.loads(answer.text)["detail"] == "slow down"


def test_a_refusal_without_a_retry_time_has_no_retry_after() -> None:
    answer = answer_for(make_mocked_request("GET", "/x"), _rpc_error(NotFound("no such client")))
    assert answer.status == 404
    assert "Retry-After" not in answer.headers
