"""Who is calling, for which tenant: carried in gRPC metadata and held in a context variable.

The gateway binds the context after authenticating a request; the client interceptor copies it into
every outgoing call's metadata; the server interceptor rebinds it in the service, which refuses calls
that carry no tenant. Business code reads ``current_context()`` and never trusts a tenant from a body.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

TENANT_METADATA_KEY = "x-atrium-tenant-id"
PRINCIPAL_METADATA_KEY = "x-atrium-principal"


@dataclass(frozen=True)
class Principal:
    kind: str  # "staff", "portal" or "service"
    id: str
    role: str = ""  # staff: owner, admin or staff
    client_id: str = ""  # portal: the only client this principal may see

    @classmethod
    def service(cls, name: str) -> Principal:
        return cls("service", name)

    def encode(self) -> str:
        return f"{self.kind};{self.id};{self.role};{self.client_id}"

    @classmethod
    def decode(cls, value: str) -> Principal:
        kind, ident, role, client_id = value.split(";")
        if kind not in {"staff", "portal", "service"} or not ident:
            raise ValueError("unknown principal")
        return cls(kind, ident, role, client_id)

    @property
    def is_portal(self) -> bool:
        return self.kind == "portal"


@dataclass(frozen=True)
class CallContext:
    tenant_id: uuid.UUID
    principal: Principal

    def metadata(self) -> tuple[tuple[str, str], ...]:
        return self._metadata

    @functools.cached_property
    def _metadata(self) -> tuple[tuple[str, str], ...]:
        # Encoded once per context: the gateway reuses a signed-in account's context for its every request.
        return ((TENANT_METADATA_KEY, str(self.tenant_id)), (PRINCIPAL_METADATA_KEY, self.principal.encode()))

    @classmethod
    def from_metadata(cls, metadata: dict[str, str]) -> CallContext | None:
        tenant = metadata.get(TENANT_METADATA_KEY)
        principal = metadata.get(PRINCIPAL_METADATA_KEY)
        if not tenant or not principal:
            return None
        try:
            return cls(uuid.UUID(tenant), Principal.decode(principal))
        except ValueError:
            return None


_current: contextvars.ContextVar[CallContext | None] = contextvars.ContextVar("atrium_call_context", default=None)


class MissingCallContext(RuntimeError):
    pass


def current_context() -> CallContext:
    context = _current.get()
    if context is None:
        raise MissingCallContext("no tenant context is bound")
    return context


def current_tenant() -> uuid.UUID:
    return current_context().tenant_id


def maybe_current_context() -> CallContext | None:
    return _current.get()


@contextlib.contextmanager
def bind_call_context(context: CallContext) -> Iterator[CallContext]:
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def set_call_context(context: CallContext | None) -> None:
    """Bind for the rest of the current task (the gateway's per-request middleware uses this)."""
    _current.set(context)
