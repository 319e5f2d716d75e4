"""What no field of ours may hold is refused at the edge with a 422 naming it, before any model or service reads it:
U+0000 (PostgreSQL text cannot hold it), integers beyond int64, nesting deeper than any document of ours."""

from __future__ import annotations

import json
from unittest import mock

import pytest
from aiohttp import streams
from aiohttp.test_utils import make_mocked_request
from pydantic import BaseModel

from gateway.api import MAX_JSON_DEPTH, _parse_body, _parse_query
from gateway.problems import http_status_for_domain_error
from platform_core.errors import DomainError, InvalidArgument


class Note(BaseModel):
    text: str = ""
    version: int = 0
    extra: dict[str, object] = {}


def request_with(body: bytes, content_type: str = "application/json") -> object:
    protocol = mock.Mock(_reading_paused=False)
    payload = streams.StreamReader(protocol, 2**16, loop=mock.Mock())
    payload.feed_data(body)
    payload.feed_eof()
    return make_mocked_request("POST", "/x", headers={"Content-Type": content_type}, payload=payload)


async def refused(body: object) -> list[tuple[str, str]]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    with pytest.raises(InvalidArgument) as caught:
        await _parse_body(request_with(raw), Note)  # type: ignore[arg-type]
    return [(v.field, v.message) for v in caught.value.violations]


async def test_a_nul_character_anywhere_in_a_body_is_refused_naming_its_field() -> None:
    assert await refused({"text": "a\x00b"}) == [("text", "must not contain the character U+0000")]
    assert (await refused({"extra": {"list": ["ok", "x\x00"]}}))[0][0] == "extra.list.1"
    assert (await refused({"extra": {"k\x00": 1}}))[0][0] == "extra"


async def test_integers_beyond_int64_and_deep_nesting_are_refused() -> None:
    assert await refused({"version": 2**63}) == [("version", "must fit in a 64-bit integer")]
    nested: object = 1
    for _ in range(MAX_JSON_DEPTH + 1):
        nested = {"a": nested}
    assert (await refused({"extra": nested}))[0][1] == f"nests deeper than {MAX_JSON_DEPTH} levels"
    assert (await refused(b"[" * 100_000 + b"]" * 100_000))[0][0] == "body"


async def test_ordinary_bodies_pass() -> None:
    note = await _parse_body(request_with(json.dumps({"text": "ok", "version": 2**63 - 1}).encode()), Note)  # type: ignore[arg-type]
    assert note == Note(text="ok", version=2**63 - 1)


def test_a_nul_character_in_the_query_is_refused() -> None:
    with pytest.raises(InvalidArgument) as caught:
        _parse_query(make_mocked_request("GET", "/x?q=a%00b"), Note)
    assert [(v.field, v.message) for v in caught.value.violations] == [("q", "must not contain the character U+0000")]


async def test_a_body_that_is_not_json_by_its_media_type_is_refused_with_415() -> None:
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/octet-stream"):
        with pytest.raises(DomainError) as caught:
            await _parse_body(request_with(b'{"text": "ok"}', content_type), Note)  # type: ignore[arg-type]
        assert http_status_for_domain_error(caught.value) == 415
    note = await _parse_body(request_with(b'{"text": "ok"}', "application/merge-patch+json"), Note)  # type: ignore[arg-type]
    assert note.text == "ok"


class Flags(BaseModel):
    enabled: bool = False
    count: int = 0


async def test_values_are_read_as_json_types_them_not_coerced() -> None:
    for body, field in [({"enabled": 0}, "enabled"), ({"enabled": "true"}, "enabled"), ({"count": "5"}, "count")]:
        with pytest.raises(InvalidArgument) as caught:
            await _parse_body(request_with(json.dumps(body).encode()), Flags)  # type: ignore[arg-type]
        assert [v.field for v in caught.value.violations] == [field]
    flags = await _parse_body(request_with(b'{"enabled": true, "count": 5}'), Flags)  # type: ignore[arg-type]
    assert flags == Flags(enabled=True, count=5)
