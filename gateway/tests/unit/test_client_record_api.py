"""The client-record endpoints in the OpenAPI document, and the reasons that have an HTTP status of their own."""

import pytest

import gateway.app  # noqa: F401 - importing the app registers every route
from gateway.openapi import build_document
from gateway.problems import http_status_for_domain_error
from gateway.routes.registry import api
from platform_core.errors import InvalidArgument, LimitExceeded


def test_uploads_and_downloads_are_documented_as_binary_with_their_errors() -> None:
    paths = build_document(api, title="Atrium API", version="1")["paths"]
    upload = paths["/api/v1/clients/{client_id}/attachments"]["post"]
    assert upload["requestBody"]["content"] == {
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
    }
    assert {"201", "413", "415", "422"} <= set(upload["responses"])
    for path in ("/api/v1/clients/{client_id}/attachments/{attachment_id}/content",
                 "/api/v1/portal/attachments/{attachment_id}/content"):  # fmt: skip
        assert "application/octet-stream" in paths[path]["get"]["responses"]["200"]["content"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/custom-fields",
        "/api/v1/custom-fields/order",
        "/api/v1/custom-fields/{field_id}",
        "/api/v1/portal/custom-fields",
        "/api/v1/clients/{client_id}/attachments/{attachment_id}",
        "/api/v1/portal/attachments",
    ],
)
def test_the_client_record_endpoints_are_documented(path: str) -> None:
    assert path in build_document(api, title="Atrium API", version="1")["paths"]


def test_attachment_limits_answer_413_and_415() -> None:
    assert http_status_for_domain_error(LimitExceeded("too big", reason="ATTACHMENT_TOO_LARGE")) == 413
    unsupported = InvalidArgument.single("content_type", "no")
    unsupported.reason = "UNSUPPORTED_MEDIA_TYPE"
    assert http_status_for_domain_error(unsupported) == 415
    assert http_status_for_domain_error(LimitExceeded("slow down")) == 429
