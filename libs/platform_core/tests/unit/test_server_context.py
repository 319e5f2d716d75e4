"""The server interceptor binds each call's tenant and principal from its metadata, however often the same caller
calls: a wrapped handler is reused only for the same method, tenant and principal."""

from __future__ import annotations

import uuid
from typing import Any, NamedTuple

import grpc
import pytest

from platform_core.grpc.context import CallContext, Principal, current_context
from platform_core.grpc.interceptors import ServerContextInterceptor


class Details(NamedTuple):
    method: str
    invocation_metadata: tuple[tuple[str, str], ...]


class Refused(Exception):
    pass


class FakeContext:
    async def abort(self, code: grpc.StatusCode, message: str, trailers: Any = None) -> None:
        raise Refused(code, message)


async def _answer_with_context(request: Any, context: Any) -> CallContext:
    return current_context()


HANDLER = grpc.unary_unary_rpc_method_handler(_answer_with_context)


async def _continuation(details: Any) -> grpc.RpcMethodHandler:
    return HANDLER


async def call(interceptor: ServerContextInterceptor, method: str, context: CallContext | None) -> Any:
    wrapped = await interceptor.intercept_service(
        _continuation,
        Details(method, context.metadata() if context else ()),  # type: ignore[arg-type]
    )
    return await wrapped.unary_unary(None, FakeContext())


async def test_each_call_acts_for_the_tenant_and_principal_it_carries() -> None:
    interceptor = ServerContextInterceptor()
    anna = CallContext(uuid.uuid4(), Principal("staff", "anna", "owner"))
    ben = CallContext(anna.tenant_id, Principal("staff", "ben", "staff"))
    other_tenant = CallContext(uuid.uuid4(), Principal("staff", "anna", "owner"))
    for _ in range(3):
        for context in (anna, ben, other_tenant):
            assert await call(interceptor, "/atrium.client.v1.ClientRecords/GetClient", context) == context
    assert await call(interceptor, "/atrium.client.v1.ClientRecords/ListClients", ben) == ben


async def test_the_same_caller_reuses_its_wrapped_handler_and_another_gets_its_own() -> None:
    interceptor = ServerContextInterceptor()
    anna = CallContext(uuid.uuid4(), Principal("staff", "anna", "owner"))
    ben = CallContext(anna.tenant_id, Principal("portal", "ben", "", "c1"))
    method = "/atrium.client.v1.ClientRecords/GetClient"
    first = await interceptor.intercept_service(_continuation, Details(method, anna.metadata()))  # type: ignore[arg-type]
    again = await interceptor.intercept_service(_continuation, Details(method, anna.metadata()))  # type: ignore[arg-type]
    other = await interceptor.intercept_service(_continuation, Details(method, ben.metadata()))  # type: ignore[arg-type]
    assert first is again
    assert other is not first


async def test_a_call_without_a_tenant_is_refused_every_time() -> None:
    interceptor = ServerContextInterceptor()
    for _ in range(2):
        with pytest.raises(Refused) as refused:
            await call(interceptor, "/atrium.client.v1.ClientRecords/GetClient", None)
        assert refused.value.args[0] == grpc.StatusCode.UNAUTHENTICATED
