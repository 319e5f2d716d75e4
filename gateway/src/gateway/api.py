"""The route table: each operation is declared once, with its auth, body, query and response models.

The same declarations register the aiohttp routes and produce the OpenAPI 3.1 document, so the two
cannot drift. Bodies and queries are validated by pydantic before a handler runs; failures answer 422
problem+json naming each field.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import grpc
import orjson
from aiohttp import web
from pydantic import BaseModel, ValidationError

from gateway import idempotency
from gateway.identity.model import Account
from gateway.identity.permissions import PERMISSIONS, service_role
from gateway.portal_survivor import acting_account
from gateway.problems import answer_for
from platform_core.errors import (
    DomainError,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from platform_core.grpc.context import CallContext, Principal, bind_call_context
from platform_core.ids import parse_uuid

Auth = Literal["public", "staff", "portal", "any"]
ACCOUNT_KEY = web.RequestKey("account", object)  # set by the auth middleware: an Account or INVALID_TOKEN
UNSAFE_METHODS = idempotency.UNSAFE_METHODS


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
    # False where the change leaves the record its path names as it was (it adds something of its own, e.g. a
    # check-in): the audit log then does not read that record as the change's "before".
    audit_before: bool = True

    @property
    def operation_id(self) -> str:
        return self.handler.__name__

    @property
    def idempotent(self) -> bool:
        """Takes an Idempotency-Key: every unsafe operation of a signed-in caller, but uploads (streamed, not
        held to be compared)."""
        return self.method in UNSAFE_METHODS and self.auth != "public" and not self.upload

    @functools.cached_property
    def takes_account(self) -> bool:
        """Public handlers may or may not want the caller's account (a signed-in caller is still welcome)."""
        return "account" in inspect.signature(self.handler).parameters


# What a JSON value may hold before any model reads it. Deeper nesting than any of our documents has is refused
# (the services' protobuf Struct stops at 100 levels); integers must fit the int64 fields they travel in; U+0000
# is refused everywhere, since PostgreSQL text cannot hold it.
MAX_JSON_DEPTH = 32
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _json_violation(value: Any, path: str, depth: int = 0) -> FieldViolation | None:
    """The first thing in a parsed JSON value no field of ours may hold, named by its path."""
    if isinstance(value, str):
        return FieldViolation(path, "must not contain the character U+0000") if "\x00" in value else None
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return None
    if isinstance(value, int):
        return None if INT64_MIN <= value <= INT64_MAX else FieldViolation(path, "must fit in a 64-bit integer")
    if depth >= MAX_JSON_DEPTH:
        return FieldViolation(path, f"nests deeper than {MAX_JSON_DEPTH} levels")
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        if isinstance(key, str) and "\x00" in key:
            return FieldViolation(path, "has a key containing the character U+0000")
        found = _json_violation(item, f"{path}.{key}" if path != "body" else str(key), depth + 1)
        if found is not None:
            return found
    return None


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
        audit_before: bool = True,
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
                    audit_before,
                )
            )
            return handler

        return register

    def install(self, app: web.Application, *, check_responses: bool = False) -> None:
        """Route every operation. ``check_responses`` holds every JSON answer to its declared response model
        (development and tests), so a handler that drifts from the document fails loudly there."""
        literals = literal_siblings([operation.path for operation in self.operations])
        for operation in self.operations:
            app.router.add_route(
                operation.method,
                routing_path(operation.path, literals),
                _endpoint(operation, check_responses=check_responses),
                name=operation.operation_id,
            )


class ResponseContractBroken(RuntimeError):
    """A handler answered what its operation's declared response model does not describe."""


def _undeclared_fields(model: type[BaseModel], payload: Any, path: str) -> list[str]:
    """Keys of ``payload`` that ``model`` (and the models of its fields, recursively) does not declare."""
    if not isinstance(payload, dict):
        return []
    declared = {info.alias or name: info for name, info in model.model_fields.items()}
    found = [f"{path}.{key}" for key in payload if key not in declared]
    for key, info in declared.items():
        found += _undeclared_in(info.annotation, payload.get(key), f"{path}.{key}")
    return found


def _undeclared_in(annotation: Any, value: Any, path: str) -> list[str]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _undeclared_fields(annotation, value, path)
    for argument in typing.get_args(annotation):
        if isinstance(value, list) and typing.get_origin(annotation) in (list, tuple):
            return [found for item in value for found in _undeclared_in(argument, item, f"{path}[]")]
        if isinstance(argument, type) and issubclass(argument, BaseModel) and isinstance(value, dict):
            return _undeclared_fields(argument, value, path)
    return []


def check_response(operation: Operation, payload: Any) -> None:
    """Raise unless ``payload`` is exactly what the operation's response model describes."""
    assert operation.response is not None
    try:
        operation.response.model_validate(payload)
    except ValidationError as exc:
        raise ResponseContractBroken(f"{operation.method} {operation.path} answered against its model: {exc}") from exc
    undeclared = _undeclared_fields(operation.response, payload, "body")
    if undeclared:
        raise ResponseContractBroken(f"{operation.method} {operation.path} answered undeclared fields: {undeclared}")


# A path parameter named *_id is a record id. Where a literal segment stands beside it (/clients/export beside
# /clients/{client_id}), the parameter is routed only when it is not that literal, so the literal is never read as
# an id nor an id as the literal, whatever the order of registration (PATCH /clients/export is then 405).
ID_PARAM = re.compile(r"{(\w+_id)}")
_ANY_PARAM = re.compile(r"{\w+}")


def _shape(segments: list[str]) -> tuple[str, ...]:
    return tuple("{}" if _ANY_PARAM.fullmatch(s) else s for s in segments)


def literal_siblings(paths: list[str]) -> dict[tuple[str, ...], set[str]]:
    """For each path prefix (parameters as {}), the literal segments that follow it somewhere in the table."""
    found: dict[tuple[str, ...], set[str]] = {}
    for path in paths:
        segments = path.split("/")
        for i, segment in enumerate(segments):
            if not _ANY_PARAM.fullmatch(segment):
                found.setdefault(_shape(segments[:i]), set()).add(segment)
    return found


def routing_path(path: str, literals: dict[tuple[str, ...], set[str]]) -> str:
    segments = path.split("/")
    for i, segment in enumerate(segments):
        taken = literals.get(_shape(segments[:i]), set())
        if ID_PARAM.fullmatch(segment) and taken:
            alternatives = "|".join(re.escape(t) for t in sorted(taken))
            segments[i] = "{" + segment[1:-1] + ":(?!(?:" + alternatives + ")(?:/|$))[^/]+}"
    return "/".join(segments)


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


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


async def _parse_body(request: web.Request, model: type[BaseModel]) -> BaseModel:
    raw = await request.read()
    if raw and not _is_json(request.content_type):
        raise DomainError(
            f"the body must be application/json, not {request.content_type}", reason="UNSUPPORTED_MEDIA_TYPE"
        )
    try:
        data = json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidArgument([FieldViolation("body", "is not valid JSON")]) from exc
    except RecursionError as exc:
        raise InvalidArgument([FieldViolation("body", f"nests deeper than {MAX_JSON_DEPTH} levels")]) from exc
    if not isinstance(data, dict):
        raise InvalidArgument([FieldViolation("body", "must be a JSON object")])
    violation = _json_violation(data, "body")
    if violation is not None:
        raise InvalidArgument([violation])
    try:
        # Strict as JSON is typed: 0 is not a boolean nor "5" a number, as the document says.
        return model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        raise InvalidArgument(violations_from(exc)) from exc


def _parse_query(request: web.Request, model: type[BaseModel]) -> BaseModel:
    for name, value in request.query.items():
        if "\x00" in name or "\x00" in value:
            raise InvalidArgument([FieldViolation(name.replace("\x00", ""), "must not contain the character U+0000")])
    try:
        return model.model_validate(dict(request.query))
    except ValidationError as exc:
        raise InvalidArgument(violations_from(exc)) from exc


# The form every id we hand out takes: matched at a fraction of what building a UUID costs; any other spelling a UUID
# may take is still read as one.
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def path_id(request: web.Request, name: str, what: str) -> str:
    """A record id from the path; one that is not a UUID names no record, so it answers 404 like a missing one."""
    raw = request.match_info[name]
    if _CANONICAL_UUID.fullmatch(raw) is None and parse_uuid(raw) is None:
        raise NotFound(f"{what} not found")
    return raw


def principal_of(account: Account) -> Principal:
    return Principal(
        account.kind, str(account.id), service_role(account.role, account.permissions), str(account.client_id or "")
    )


# The call context of each account object requests act as. The live-account cache (identity.principals) hands every
# request of a token the same object, so its tenant and principal are encoded for the backends once, not per request.
# An account is immutable; holding it keeps its id from naming another object while the entry lives.
_CALL_CONTEXTS: dict[int, tuple[Account, CallContext]] = {}
MAX_CALL_CONTEXTS = 10_000


def call_context_of(account: Account) -> CallContext:
    cached = _CALL_CONTEXTS.get(id(account))
    if cached is not None and cached[0] is account:
        return cached[1]
    context = CallContext(account.tenant_id, principal_of(account))
    if len(_CALL_CONTEXTS) >= MAX_CALL_CONTEXTS:
        _CALL_CONTEXTS.clear()
    _CALL_CONTEXTS[id(account)] = (account, context)
    return context


def _endpoint(operation: Operation, *, check_responses: bool) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    idempotent = operation.idempotent
    checked = check_responses and operation.response is not None

    async def endpoint(request: web.Request) -> web.StreamResponse:
        account = _authorize(operation, request.get(ACCOUNT_KEY))
        kwargs: dict[str, Any] = {}
        if operation.body is not None:
            kwargs["body"] = await _parse_body(request, operation.body)
        if operation.query is not None:
            kwargs["query"] = _parse_query(request, operation.query)
        key = idempotency.key_of(request) if idempotent and account is not None else None
        if account is not None and key is not None:

            async def respond() -> web.StreamResponse:
                try:
                    return await run(request, account, kwargs)
                except (DomainError, grpc.aio.AioRpcError) as exc:
                    return answer_for(request, exc)  # a refusal is the answer a retry gets too

            store = request.app[idempotency.IDEMPOTENCY]
            return await store.run_once(request, account.tenant_id, f"{account.kind}:{account.id}", key, respond)
        return await run(request, account, kwargs)

    async def run(request: web.Request, account: Account | None, kwargs: dict[str, Any]) -> web.StreamResponse:
        if account is not None and operation.takes_account:
            # A portal login whose client was merged away acts for the survivor.
            account = await acting_account(request.app, account)
            kwargs["account"] = account
            # Every backend call made for this request carries this tenant and principal.
            with bind_call_context(call_context_of(account)):
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
        if checked:
            check_response(operation, payload)
        return web.Response(
            body=orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS),
            status=operation.status,
            content_type="application/json",
            charset="utf-8",
            headers=operation.headers or None,
        )

    return endpoint
