"""What creating a client reads of its tenant besides the request: the default status and the custom field
definitions. They rarely change, so each replica keeps them cached behind the tenant's catalogue version
(client_catalogue_versions, bumped by triggers on every change whoever makes it). A create that used cached
inputs learns the current version from its last write (the client count) and is refused, CATALOGUE_CHANGED,
when they were stale: the use case runs again on fresh inputs.
"""

from __future__ import annotations

import abc
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from client_svc.adapters.repository import SqlAlchemyStatusRepository
from client_svc.adapters.tables import client_catalogue_versions, client_custom_fields
from client_svc.domain.custom_fields import CustomField, CustomFieldCatalogue
from client_svc.domain.statuses import ClientStatus
from platform_core.errors import Conflict

CATALOGUE_CHANGED = "CATALOGUE_CHANGED"


@dataclass(frozen=True)
class CreationInputs:
    default_status: ClientStatus
    custom_fields: CustomFieldCatalogue


class AbstractCreationInputs(abc.ABC):
    @abc.abstractmethod
    async def of(self, tenant_id: uuid.UUID) -> CreationInputs:
        """The tenant's inputs for creating clients (read only: never change what this returns)."""


@dataclass(frozen=True)
class _Cached:
    version: int
    default_status: ClientStatus
    fields: tuple[CustomField, ...]

    def inputs(self, tenant_id: uuid.UUID) -> CreationInputs:
        # A fresh catalogue each time: the domain may look, and the cached list stays as read.
        return CreationInputs(self.default_status, CustomFieldCatalogue(tenant_id, list(self.fields)))


class CreationInputsCache:
    """One per replica, shared by its units of work."""

    def __init__(self) -> None:
        self._entries: dict[uuid.UUID, _Cached] = {}

    def get(self, tenant_id: uuid.UUID) -> _Cached | None:
        return self._entries.get(tenant_id)

    def put(self, tenant_id: uuid.UUID, entry: _Cached) -> None:
        self._entries[tenant_id] = entry

    def forget(self, tenant_id: uuid.UUID) -> None:
        self._entries.pop(tenant_id, None)


_VERSION = select(client_catalogue_versions.c.version)


async def _version(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    found = await session.scalar(_VERSION.where(client_catalogue_versions.c.tenant_id == tenant_id))
    return int(found or 0)  # no row: never changed since versions were kept


class SqlAlchemyCreationInputs(AbstractCreationInputs):
    def __init__(self, session: AsyncSession, cache: CreationInputsCache) -> None:
        self.session = session
        self.cache = cache
        self.relied_on: dict[uuid.UUID, int] = {}  # tenant -> version of the cached inputs this unit used

    async def of(self, tenant_id: uuid.UUID) -> CreationInputs:
        cached = self.cache.get(tenant_id)
        if cached is None:
            cached = await self._load(tenant_id)
            if cached is None:  # changed while read (or seeded now): used as read, like an uncached read
                return await self._read(tenant_id)
            self.cache.put(tenant_id, cached)
        self.relied_on[tenant_id] = cached.version
        return cached.inputs(tenant_id)

    async def _load(self, tenant_id: uuid.UUID) -> _Cached | None:
        # The version before and after the reads: equal, nothing changed between them and they are that version.
        before = await _version(self.session, tenant_id)
        inputs = await self._read(tenant_id)
        if await _version(self.session, tenant_id) != before:
            return None
        default = inputs.default_status  # a plain copy: it outlives this unit in the cache
        plain = ClientStatus(tenant_id, default.id, default.label, default.position, is_default=True)
        return _Cached(before, plain, tuple(inputs.custom_fields.fields))

    async def _read(self, tenant_id: uuid.UUID) -> CreationInputs:
        default = await SqlAlchemyStatusRepository(self.session).default_status(tenant_id)
        rows = await self.session.execute(
            select(client_custom_fields).where(client_custom_fields.c.tenant_id == tenant_id)
        )
        # Plain definitions, not the session's tracked ones: they outlive this unit in the cache.
        fields = [CustomField(**row._mapping) for row in rows]
        return CreationInputs(default, CustomFieldCatalogue(tenant_id, fields))

    async def verify(self, current: dict[uuid.UUID, int | None]) -> None:
        """Refuse the unit if an input it used from the cache is no longer current (``current``: versions this
        transaction's last write saw; a tenant missing there is asked)."""
        relied_on, self.relied_on = self.relied_on, {}
        for tenant_id, version in relied_on.items():
            now = current[tenant_id] if tenant_id in current else await _version(self.session, tenant_id)
            if (now or 0) != version:
                self.refuse_stale(tenant_id)

    def refuse_stale(self, tenant_id: uuid.UUID) -> None:
        """The unit relied on cached inputs of this tenant that are no longer current: forget them and refuse it."""
        self.relied_on.pop(tenant_id, None)
        self.cache.forget(tenant_id)
        raise Conflict("the business's client settings changed meanwhile; try again", reason=CATALOGUE_CHANGED)
