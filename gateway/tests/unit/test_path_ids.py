"""A record id in a path is read as a UUID whatever its spelling; anything else names no record (404)."""

from __future__ import annotations

import uuid

import pytest
from aiohttp.test_utils import make_mocked_request
from hypothesis import given
from hypothesis import strategies as st

from gateway.api import path_id
from platform_core.errors import NotFound
from platform_core.ids import parse_uuid

SPELLINGS = st.uuids().flatmap(
    lambda u: st.sampled_from(
        [str(u), str(u).upper(), u.hex, "{" + str(u) + "}", "urn:uuid:" + str(u), str(u)[:-1], str(u) + "0"]
    )
)


def _accepted(raw: str) -> bool:
    request = make_mocked_request("GET", "/api/v1/clients/x", match_info={"client_id": raw})
    try:
        return path_id(request, "client_id", "client") == raw
    except NotFound:
        return False


@given(st.one_of(SPELLINGS, st.text(max_size=40), st.text("0123456789abcdefABCDEF-", min_size=30, max_size=40)))
def test_an_id_is_accepted_exactly_when_it_reads_as_a_uuid(raw: str) -> None:
    assert _accepted(raw) == (parse_uuid(raw) is not None)


def test_a_malformed_id_answers_not_found() -> None:
    request = make_mocked_request("GET", "/api/v1/clients/x", match_info={"client_id": "not-an-id"})
    with pytest.raises(NotFound, match="client not found"):
        path_id(request, "client_id", "client")
    assert _accepted(str(uuid.uuid4()))
