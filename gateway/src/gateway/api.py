"""The route table: each operation is declared once, with its auth, body, query and response models.

The same declarations register the aiohttp routes and produce the OpenAPI 3.1 document, so the two
cannot drift. Bodies and queries are validated by pydantic before a handler runs; failures answer 422
problem+json naming each field.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from aiohttp import web
from pydantic import BaseModel, ValidationError

from gateway.identity.model import Account
from gateway.identity.permissions import PERMISSIONS, service_role
from platform_core.errors import FieldViolation, InvalidArgument, NotFound, PermissionDenied, Unauthenticated
from platform_core.grpc.context import CallContext, Principal, bind_call_context
from platform_core.ids import parse_uuid

Auth = Literal["public", "staff", "portal", "any"]
ACCOUNT_KEY = web.RequestKey("account", object)  # set by the auth middleware: an Account or INVALID_TOKEN
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass
class Operation:
    method: str
    path: str
    handler: Callable[..., Awaitable[Any]]
    summary: str
    tag: str
    auth: Auth
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    # The permission a staff principal (or API key) needs; every staff route names one.
    permission: str = ""
    errors: tuple[int, ...] = ()
    description: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    # Media types of a file the handler reads from the request itself (not a JSON body), and of a file it
    # answers with instead of JSON; both only shape the OpenAPI document.
    upload: tuple[str, ...] = ()
    produces: tuple[str, ...] = ()

    @property
    def operation_id(self) -> str:
        return self.handler.__name__

    @functools.cached_property
    def takes_account(self) -> bool:
        """Public handlers may or may not want the caller's account (a signed-in caller is still welcome)."""
        return "account" in inspect.signature(self.handler).parameters


class ChangeRecorder(Protocol):
    """Sees every change a signed-in caller makes (the audit log): runs ``call`` and records what it did."""

    async def around(
        self, operation: Operation, request: web.Request, account: Account, call: Callable[[], Awaitable[Any]]
    ) -> Any: ...


CHANGE_RECORDER = web.AppKey("change_recorder", ChangeRecorder)


def violations_from(exc: ValidationError, prefix: str = "") -> list[FieldViolation]:
    result = []
    for error in exc.errors(include_url=False):
        location = ".".join(str(part) for part in error["loc"]) or prefix or "body"
        result.append(FieldViolation(location, error["msg"]))
    return result


class Api:
    def __init__(self) -> None:
        self.operations: list[Operation] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        tag: str,
        auth: Auth = "staff",
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        status: int = 200,
        permission: str = "",
        errors: tuple[int, ...] = (),
        description: str = "",
        headers: dict[str, str] | None = None,
        upload: tuple[str, ...] = (),
        produces: tuple[str, ...] = (),
    ) -> Callable[[Callable[..., Awaitable[Any]]], Callable[..., Awaitable[Any]]]:
        if auth == "staff" and permission not in PERMISSIONS:
            raise ValueError(f"{method} {path}: a staff route names the permission it needs, one of PERMISSIONS")

        def register(handler: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
            self.operations.append(
                Operation(
                    method,
                    path,
                    handler,
                    summary,
                    tag,
                    auth,
                    body,
                    query,
                    response,
                    status,
                    permission,
                    errors,
                    description,
                    headers or {},
                    upload,
                    produces,
                )
            )
            return handler

        return register

    def install(self, app: web.Application) -> None:
        for operation in self.operations:
            app.router.add_route(operation.method, operation.path, _endpoint(operation), name=operation.operation_id)


def _authorize(operation: Operation, account: Any) -> Account | None:
    if operation.auth == "public":
        return account if isinstance(account, Account) else None
    if not isinstance(account, Account):
        raise Unauthenticated("a valid bearer token is required")
    if operation.auth != "any" and account.kind != operation.auth:
        raise PermissionDenied(f"this endpoint is for {operation.auth} accounts")
    if account.api_key_id is not None and operation.auth != "staff":
        raise PermissionDenied("this endpoint is for signed-in accounts, not API keys", reason="NOT_FOR_API_KEYS")
    if account.two_factor_pending and operation.auth == "staff":
        raise PermissionDenied(
            "the business requires two-factor sign-in: set it up first (/api/v1/auth/two-factor)",
            reason="TWO_FACTOR_SETUP_REQUIRED",
        )
    if operation.permission and operation.permission not in account.permissions:
        raise PermissionDenied(f"requires the permission {operation.permission}", reason="PERMISSION_REQUIRED")
    return account


async def _parse_body(request: web.Request, model: type[BaseModel]) -> BaseModel:
    raw = await request.read()
    try:
        data = json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidArgument([FieldViolation("body", "is not valid JSON")]) from exc
    if not isinstance(data, dict):
        raise InvalidArgument([FieldViolation("body", "must be a JSON object")])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidArgument(violations_from(exc)) from exc


def _parse_query(request: web.Request, model: type[BaseModel]) -> BaseModel:
    try:
        return model.model_validate(dict(request.query))
    except ValidationError as exc:
        raise InvalidArgument(violations_from(exc)) from exc


def path_id(request: web.Request, name: str, what: str) -> str:
    """A record id from the path; one that is not a UUID names no record, so it answers 404 like a missing one."""
    raw = request.match_info[name]
    if parse_uuid(raw) is None:
        raise NotFound(f"{what} not found")
    return raw


def principal_of(account: Account) -> Principal:
    return Principal(
        account.kind, str(account.id), service_role(account.role, account.permissions), str(account.client_id or "")
    )


def _endpoint(operation: Operation) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def endpoint(request: web.Request) -> web.StreamResponse:
        account = _authorize(operation, request.get(ACCOUNT_KEY))
        kwargs: dict[str, Any] = {}
        if operation.body is not None:
            kwargs["body"] = await _parse_body(request, operation.body)
        if operation.query is not None:
            kwargs["query"] = _parse_query(request, operation.query)
        if account is not None and operation.takes_account:
            kwargs["account"] = account
            # Every backend call made for this request carries this tenant and principal.
            with bind_call_context(CallContext(account.tenant_id, principal_of(account))):
                recorder = request.app.get(CHANGE_RECORDER)
                if recorder is not None and operation.method in UNSAFE_METHODS:
                    result = await recorder.around(
                        operation, request, account, lambda: operation.handler(request, **kwargs)
                    )
                else:
                    result = await operation.handler(request, **kwargs)
        else:
            result = await operation.handler(request, **kwargs)
        if isinstance(result, web.StreamResponse):
            return result
        if result is None:
            return web.Response(status=204)
        payload = result.model_dump(mode="json") if isinstance(result, BaseModel) else result
        return web.Response(
            text=json.dumps(payload),
            status=operation.status,
            content_type="application/json",
            headers=operation.headers or None,
        )

    return endpoint
