"""Every URL the OpenAPI document admits fits the gateway's request line, so none is refused by the HTTP parser
(aiohttp's default 8190 bytes answered an undocumented 400 to a valid availability query)."""

from typing import Any

from gateway.app import MAX_REQUEST_LINE_BYTES
from gateway.openapi import build_document
from gateway.routes.registry import api

# A character percent-encodes to at most 12 bytes (4 UTF-8 bytes, %XX each); numbers and fixed formats are short.
WORST_BYTES_PER_CHAR = 12
FORMAT_LENGTH = {"uuid": 36, "date": 10, "date-time": 40}
SCALAR_LENGTH = 30
# A path parameter that is not an id is a token of ours (a calendar feed's), far shorter than this.
PATH_TOKEN_LENGTH = 256


def longest_value(schema: dict[str, Any]) -> int:
    """The longest value a query parameter of this schema may take, in characters; unbounded text fails."""
    if "anyOf" in schema:
        return max(longest_value(option) for option in schema["anyOf"])
    if "const" in schema:
        return len(str(schema["const"]))
    if "enum" in schema:
        return max(len(str(value)) for value in schema["enum"])
    if schema.get("type") != "string":
        assert schema.get("type") in ("integer", "number", "boolean", "null"), schema
        return SCALAR_LENGTH
    if schema.get("format") in FORMAT_LENGTH:
        return FORMAT_LENGTH[schema["format"]]
    assert "maxLength" in schema, f"a text query parameter without maxLength: {schema}"
    return int(schema["maxLength"])


def longest_request_line(path: str, method: str, operation: dict[str, Any]) -> int:
    line = len(f"{method.upper()} {path}?") + len(" HTTP/1.1")
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path":
            line += FORMAT_LENGTH.get(parameter["schema"].get("format", ""), PATH_TOKEN_LENGTH) * WORST_BYTES_PER_CHAR
        elif parameter["in"] == "query":
            line += len(parameter["name"]) + 2 + longest_value(parameter["schema"]) * WORST_BYTES_PER_CHAR
    return line


def test_the_longest_url_the_document_admits_fits_the_request_line() -> None:
    document = build_document(api, title="Atrium API", version="1")
    lines = {
        f"{method.upper()} {path}": longest_request_line(path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }
    longest = max(lines, key=lines.__getitem__)
    assert lines[longest] <= MAX_REQUEST_LINE_BYTES, (longest, lines[longest])
    assert lines["GET /api/v1/availability"] > 8190  # the case that answered 400 before the limit was raised
