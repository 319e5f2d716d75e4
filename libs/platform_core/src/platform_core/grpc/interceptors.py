"""The interceptors every server and channel carries.

Server side: bind the caller's tenant and principal (refusing calls without them) and turn domain errors
into gRPC statuses, once, for every method. Client side (``call_metadata``, applied by
platform_core.grpc.channels.ContextChannel to every call): the bound context in the call metadata, and
the W3C trace context when tracing.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from opentelemetry import propagate

from platform_core.errors import DomainError
from platform_core.grpc.context import (
    PRINCIPAL_METADATA_KEY,
    TENANT_METADATA_KEY,
    CallContext,
    bind_call_context,
    maybe_current_context,
)
from platform_core.grpc.errors import to_status
from platform_core.observability import tracing_enabled

log = logging.getLogger(__name__)

# Infrastructure services answer without a tenant.
EXEMPT_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")


class ServerContextInterceptor(grpc.aio.ServerInterceptor):
    # Wrapped handlers by (method, tenant, principal) as the metadata carries them: a caller's calls repeat them, and
    # wrapping anew (parsing the context, building the handler) was a share of every call.
    MAX_WRAPPED = 10_000

    def __init__(self) -> None:
        self._wrapped: dict[
            tuple[str, str | None, str | None], tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]
        ] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method.startswith(EXEMPT_PREFIXES):
            return handler
        metadata = {key: value for key, value in (handler_call_details.invocation_metadata or ())}
        key = (method, metadata.get(TENANT_METADATA_KEY), metadata.get(PRINCIPAL_METADATA_KEY))
        cached = self._wrapped.get(key)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = _wrap(handler, CallContext.from_metadata(metadata), method)
        if len(self._wrapped) >= self.MAX_WRAPPED:
            self._wrapped.clear()
        self._wrapped[key] = (handler, wrapped)
        return wrapped


def _wrap(handler: grpc.RpcMethodHandler, call_context: CallContext | None, method: str) -> grpc.RpcMethodHandler:
    """The handler run with ``call_context`` bound (refused without one), domain errors turned into statuses."""
    if handler.unary_unary is not None:
        return grpc.unary_unary_rpc_method_handler(
            _unary(handler.unary_unary, call_context, method),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(
            _unary_stream(handler.unary_stream, call_context, method),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    if handler.stream_unary is not None:
        # A request stream answered once (an upload): the same wrapping as a unary call.
        return grpc.stream_unary_rpc_method_handler(
            _unary(handler.stream_unary, call_context, method, drain_when_refused=True),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    return handler


async def _refuse_or_fail(context: grpc.aio.ServicerContext, exc: Exception, method: str) -> None:
    if isinstance(exc, DomainError):
        code, message, trailers = to_status(exc)
        await context.abort(code, message, trailers)
    log.exception("unexpected error in %s", method, exc_info=exc)
    # Internal errors never leak details to callers.
    await context.abort(grpc.StatusCode.INTERNAL, "internal error")


# A client still sending when its upload is refused sees its next write fail, which grpc reports as INTERNAL
# instead of the refusal; reading on what it is still sending (up to this much) lets the refusal reach it.
DRAIN_LIMIT_BYTES = 64 * 1024 * 1024


async def _drain(requests: AsyncIterator[Any]) -> None:
    read = 0
    try:
        async for message in requests:
            read += message.ByteSize()
            if read > DRAIN_LIMIT_BYTES:
                return
    except Exception:  # the stream broke: there is nothing more to read
        return


def _unary(behaviour: Any, call_context: CallContext | None, method: str, *, drain_when_refused: bool = False) -> Any:
    async def handle(request: Any, context: grpc.aio.ServicerContext) -> Any:
        if call_context is None:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "tenant and principal metadata are required")
        assert call_context is not None
        with bind_call_context(call_context):
            try:
                return await behaviour(request, context)
            except grpc.aio.AbortError:
                raise
            except Exception as exc:
                if drain_when_refused and isinstance(exc, DomainError):
                    await _drain(request)
                await _refuse_or_fail(context, exc, method)

    return handle


def _unary_stream(behaviour: Any, call_context: CallContext | None, method: str) -> Any:
    async def handle(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        if call_context is None:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "tenant and principal metadata are required")
        assert call_context is not None
        with bind_call_context(call_context):
            try:
                async for item in behaviour(request, context):
                    yield item
            except grpc.aio.AbortError:
                raise
            except Exception as exc:
                await _refuse_or_fail(context, exc, method)

    return handle


def call_metadata(metadata: Any) -> grpc.aio.Metadata:
    """The call's own metadata plus the bound tenant and principal, and the W3C trace context when tracing."""
    merged = grpc.aio.Metadata(*(metadata or ()))
    call_context = maybe_current_context()
    if call_context is not None:
        for key, value in call_context.metadata():
            merged[key] = value
    if tracing_enabled():
        carrier: dict[str, str] = {}
        propagate.inject(carrier)  # W3C traceparent/tracestate, read by the server's OpenTelemetry interceptor
        for key, value in carrier.items():
            merged[key] = value
    return merged
