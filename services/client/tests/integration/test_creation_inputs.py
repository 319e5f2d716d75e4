"""Creating a client reads its business's statuses and custom fields from the replica's cache; a change made
anywhere (another replica, straight in the database) is seen by the very next create."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from client_svc.adapters.creation_inputs import CreationInputsCache
from client_svc.adapters.storage import FilesystemBlobStorage
from client_svc.config import ClientSettings
from client_svc.domain import commands
from client_svc.domain import commands_custom_fields as field_commands
from client_svc.service_layer import custom_field_handlers, handlers
from client_svc.service_layer.unit_of_work import SqlAlchemyClientUnitOfWork
from platform_core.db import create_engine, session_factory
from platform_core.errors import InvalidArgument

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)


@pytest.fixture
async def engine(client_settings: ClientSettings, client_channel: grpc.aio.Channel) -> AsyncIterator[AsyncEngine]:
    # client_channel: the service is serving, so its database is migrated.
    engine = create_engine(client_settings.database_url("client"))
    yield engine
    await engine.dispose()


class Replica:
    """One replica's units of work: its own cache, shared by every unit it makes."""

    def __init__(self, engine: AsyncEngine, settings: ClientSettings, tmp: Path) -> None:
        self.cache = CreationInputsCache()
        self._make = lambda: SqlAlchemyClientUnitOfWork(
            session_factory(engine),
            nats_prefix=settings.nats_prefix,
            storage=FilesystemBlobStorage(tmp),
            attachment_policy=settings.attachment_policy(),
            creation_inputs=self.cache,
        )

    def uow(self) -> SqlAlchemyClientUnitOfWork:
        return self._make()

    async def create(self, tenant: uuid.UUID, name: str, **fields: object) -> handlers.Created:
        cmd = commands.CreateClient(tenant_id=tenant, first_name=name, custom_fields=fields, now=NOW)
        return await handlers.create_client(cmd, self.uow())


async def test_a_replicas_cached_inputs_give_way_to_a_change_made_anywhere(
    engine: AsyncEngine, client_settings: ClientSettings, tmp_path: Path
) -> None:
    tenant = uuid.uuid4()
    a, b = Replica(engine, client_settings, tmp_path), Replica(engine, client_settings, tmp_path)
    first = await a.create(tenant, "Ada")  # seeds the ready-made statuses
    second = await a.create(tenant, "Bea")
    assert a.cache.get(tenant) is not None  # kept for the next creates
    assert first.status_label == second.status_label

    # Replica b makes a required custom field: a's next create must ask for it, whatever a had cached.
    define = field_commands.CreateCustomField(tenant, "Member number", "text", key="member_no", required=True, now=NOW)
    await custom_field_handlers.create_custom_field(define, b.uow())
    with pytest.raises(InvalidArgument) as refused:
        await a.create(tenant, "Cy")
    assert [v.field for v in refused.value.violations] == ["custom_fields.member_no"]
    created = await a.create(tenant, "Cy", member_no="M-7")
    assert created.client.first_name == "Cy"

    # Another default status, written straight in the database: the next create of a takes it.
    async with engine.begin() as conn:
        params = {"t": tenant}
        await conn.execute(text("UPDATE client_statuses SET is_default = false WHERE tenant_id = :t"), params)
        await conn.execute(
            text("UPDATE client_statuses SET is_default = true WHERE tenant_id = :t AND label = 'Lead'"), params
        )
    later = await a.create(tenant, "Dan", member_no="M-8")
    assert (first.status_label, later.status_label) == ("Active", "Lead")
    assert await _count(engine, tenant) == 4  # Ada, Bea, Cy, Dan: the refused attempt left nothing


async def _count(engine: AsyncEngine, tenant: uuid.UUID) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(text("SELECT count(*) FROM clients WHERE tenant_id = :t"), {"t": tenant}) or 0)
