"""The OpenAPI document describes exactly the routes the gateway serves, and is valid OpenAPI 3.1."""

import grpc
import pytest
from aiohttp.test_utils import make_mocked_request
from openapi_spec_validator import validate

from gateway.api import Api
from gateway.app import create_app
from gateway.config import GatewaySettings
from gateway.identity.permissions import PERMISSIONS
from gateway.openapi import build_document
from gateway.problems import _HTTP_FOR_GRPC
from gateway.routes.registry import api


def served_routes() -> set[tuple[str, str]]:
    settings = GatewaySettings(jwt_secret="k" * 40, postgres_url="postgresql://u@localhost/postgres")
    app = create_app(settings)
    routes = set()
    for route in app.router.routes():
        if route.method == "HEAD":
            continue  # aiohttp adds HEAD beside GET
        routes.add((route.method.lower(), route.resource.canonical))
    return routes


def test_the_document_is_valid_openapi_3_1() -> None:
    document = build_document(api, title="Atrium API", version="1")
    validate(document)
    assert document["openapi"] == "3.1.0"


def test_every_served_route_is_documented_and_nothing_else() -> None:
    document = build_document(api, title="Atrium API", version="1")
    documented = {(method, path) for path, item in document["paths"].items() for method in item}
    assert documented == served_routes()


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/signup",
        "/api/v1/auth/staff/login",
        "/api/v1/auth/portal/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/me",
        "/api/v1/clients",
        "/api/v1/clients/{client_id}",
        "/api/v1/clients/{client_id}/activity",
        "/api/v1/portal/me",
        "/healthz",
        "/readyz",
    ],
)
def test_the_issues_endpoints_are_served(path: str) -> None:
    assert path in {p for _, p in served_routes()}


def test_every_operation_with_input_documents_422_and_every_protected_one_401() -> None:
    document = build_document(api, title="Atrium API", version="1")
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if "requestBody" in operation or any(p["in"] == "query" for p in operation.get("parameters", [])):
                assert "422" in operation["responses"], (method, path)
            if operation["security"]:
                assert {"401", "403"} <= set(operation["responses"]), (method, path)


def test_client_errors_never_map_to_500() -> None:
    client_caused = [
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.ALREADY_EXISTS,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    ]
    assert all(400 <= _HTTP_FOR_GRPC[code] < 500 for code in client_caused)


@pytest.mark.parametrize(
    ("method", "path", "handler"),
    [
        ("GET", "/api/v1/clients/export", "export_clients"),
        ("GET", "/api/v1/clients/0193a3d2-7c1e-7b3a-9d4e-2f6a8b1c0d9e", "get_client"),
        ("PATCH", "/api/v1/clients/0193A3D2-7C1E-7B3A-9D4E-2F6A8B1C0D9E", "update_client"),
        ("PATCH", "/api/v1/clients/export", None),  # the literal route only exports: 405, not "client not found"
        ("GET", "/api/v1/clients/not-an-id", "get_client"),  # which answers 404 exactly as for a missing client
        ("GET", "/api/v1/clients/exported", "get_client"),
        ("GET", "/api/v1/recurring-series/preview", None),
    ],
)
async def test_a_literal_segment_beside_an_id_is_never_read_as_an_id(
    method: str, path: str, handler: str | None
) -> None:
    settings = GatewaySettings(jwt_secret="k" * 40, postgres_url="postgresql://u@localhost/postgres")
    match = await create_app(settings).router.resolve(make_mocked_request(method, path))
    if handler is None:
        assert match.http_exception is not None
    else:
        assert match.route.name == handler


def test_every_staff_operation_states_the_permission_it_needs() -> None:
    document = build_document(api, title="Atrium API", version="1")
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if {"staffBearer": []} in operation["security"] and {"portalBearer": []} not in operation["security"]:
                assert operation["x-permission"] in PERMISSIONS, (method, path)
                assert f"`{operation['x-permission']}`" in operation["description"], (method, path)


def test_a_staff_route_without_a_known_permission_is_refused_at_declaration() -> None:
    with pytest.raises(ValueError, match="permission"):
        Api().route("GET", "/api/v1/nothing", summary="x", tag="x", permission="clients.fly")
