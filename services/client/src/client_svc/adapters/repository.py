"""Client repositories: SQLAlchemy for real, a fake in unit tests (tests/unit/fakes.py)."""

from __future__ import annotations

import abc
import uuid
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from client_svc.adapters.name_keys import NameKeys
from client_svc.adapters.tables import client_statuses, clients
from client_svc.domain.groups import ClientGroup
from client_svc.domain.model import Client
from client_svc.domain.notes import Note
from client_svc.domain.statuses import ClientStatus, StatusCatalogue, ready_made_statuses
from platform_core.errors import Conflict, FailedPrecondition

# Row locks for use cases that must not interleave: "share" (e.g. adding a note: no merge or erasure of the
# client meanwhile) or "update" (merging, erasing). Fakes ignore them.
Lock = Literal["share", "update"]


class AbstractClientRepository(abc.ABC):
    def __init__(self) -> None:
        self.seen: set[Client] = set()

    def add(self, client: Client) -> None:
        self._add(client)
        self.seen.add(client)

    async def get(self, tenant_id: uuid.UUID, client_id: uuid.UUID, *, lock: Lock | None = None) -> Client | None:
        found = await self.get_many(tenant_id, [client_id], lock=lock)
        return found[0] if found else None

    async def get_many(
        self, tenant_id: uuid.UUID, client_ids: list[uuid.UUID], *, lock: Lock | None = None
    ) -> list[Client]:
        """The clients found, in the order asked."""
        clients = await self._get_many(tenant_id, client_ids, lock)
        self.seen.update(clients)
        return clients

    async def _get_many(self, tenant_id: uuid.UUID, client_ids: list[uuid.UUID], lock: Lock | None) -> list[Client]:
        return [c for client_id in client_ids if (c := await self._get(tenant_id, client_id)) is not None]

    @abc.abstractmethod
    def _add(self, client: Client) -> None: ...

    @abc.abstractmethod
    async def _get(self, tenant_id: uuid.UUID, client_id: uuid.UUID) -> Client | None: ...

    @abc.abstractmethod
    async def get_by_request_id(self, tenant_id: uuid.UUID, request_id: str) -> Client | None: ...

    @abc.abstractmethod
    async def claim_ended_blocks(self, now: datetime, limit: int) -> list[Client]:
        """Clients (of any business, not merged away) whose online-booking block ended by ``now``, locked."""


class SqlAlchemyClientRepository(AbstractClientRepository):
    def __init__(self, session: AsyncSession) -> None:
        super().__init__()
        self.session = session
        self.name_keys = NameKeys()

    def _add(self, client: Client) -> None:
        self.session.add(client)
        self.name_keys.added(client)

    async def _get(self, tenant_id: uuid.UUID, client_id: uuid.UUID) -> Client | None:
        return self._loaded(await self.session.get(Client, (tenant_id, client_id)))

    async def _get_many(self, tenant_id: uuid.UUID, client_ids: list[uuid.UUID], lock: Lock | None) -> list[Client]:
        if lock is None and len(client_ids) == 1:
            client = await self._get(tenant_id, client_ids[0])
            return [client] if client else []
        query = select(Client).where(clients.c.tenant_id == tenant_id, clients.c.id.in_(client_ids))
        if lock is not None:
            # In id order, so use cases locking overlapping sets cannot deadlock; fresh values after the wait.
            query = query.order_by(clients.c.id).with_for_update(read=lock == "share")
            query = query.execution_options(populate_existing=True)
        found = {c.id: c for c in (await self.session.execute(query)).scalars()}
        for client in found.values():
            self.name_keys.loaded(client)
        return [found[i] for i in client_ids if i in found]

    def _loaded(self, client: Client | None) -> Client | None:
        if client is not None:
            self.name_keys.loaded(client)
        return client

    async def claim_ended_blocks(self, now: datetime, limit: int) -> list[Client]:
        query = (
            select(Client)
            .where(clients.c.online_booking_blocked_until <= now, clients.c.merged_into.is_(None))
            .order_by(clients.c.online_booking_blocked_until)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        found = list((await self.session.execute(query)).scalars())
        for client in found:
            self.name_keys.loaded(client)
        self.seen.update(found)
        return found

    async def get_by_request_id(self, tenant_id: uuid.UUID, request_id: str) -> Client | None:
        result = await self.session.execute(
            select(Client).where(clients.c.tenant_id == tenant_id, clients.c.request_id == request_id)
        )
        return self._loaded(result.scalar_one_or_none())

    async def write_search_keys(self) -> None:
        """Keys of the typo-tolerant search for the clients whose names changed in this unit of work."""
        await self.name_keys.sync(self.session, self.seen)


class AbstractStatusRepository(abc.ABC):
    # Statuses raise no events; nothing to collect.
    seen: set[Any] = set()

    @abc.abstractmethod
    async def catalogue(self, tenant_id: uuid.UUID) -> StatusCatalogue:
        """The tenant's statuses; the ready-made set on first use."""

    @abc.abstractmethod
    def add(self, status: ClientStatus) -> None: ...

    async def default_status(self, tenant_id: uuid.UUID) -> ClientStatus:
        """The status new clients get (cheaper than the whole catalogue where that is all that is needed)."""
        return (await self.catalogue(tenant_id)).default


class SqlAlchemyStatusRepository(AbstractStatusRepository):
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def catalogue(self, tenant_id: uuid.UUID) -> StatusCatalogue:
        statuses = await self._load(tenant_id)
        if not statuses:
            # The first uses of a tenant seed its statuses; concurrent first uses take turns (a lock held to
            # commit), and the later ones find the seeded rows.
            await self.session.execute(
                text("SELECT pg_advisory_xact_lock(hashtext('client_statuses_seed'), hashtext(:t))"),
                {"t": str(tenant_id)},
            )
            statuses = await self._load(tenant_id)
        if not statuses:
            await self.session.execute(
                insert(client_statuses)
                .values(
                    [
                        {
                            "tenant_id": s.tenant_id,
                            "id": s.id,
                            "label": s.label,
                            "position": s.position,
                            "is_default": s.is_default,
                        }
                        for s in ready_made_statuses(tenant_id)
                    ]
                )
                .on_conflict_do_nothing(index_elements=["tenant_id", "id"])
            )
            statuses = await self._load(tenant_id)
            # Clients created before statuses existed get the default, once, with the seeding.
            default = next(st for st in statuses if st.is_default)
            await self.session.execute(
                text("UPDATE clients SET status_id = :s WHERE tenant_id = :t AND status_id IS NULL"),
                {"s": default.id, "t": tenant_id},
            )
        return StatusCatalogue(tenant_id, statuses)

    async def default_status(self, tenant_id: uuid.UUID) -> ClientStatus:
        # A plain row, not a tracked entity: creating a client only needs its id and label.
        row = (
            await self.session.execute(
                select(client_statuses.c.id, client_statuses.c.label, client_statuses.c.position).where(
                    client_statuses.c.tenant_id == tenant_id, client_statuses.c.is_default
                )
            )
        ).first()
        if row is None:
            return await super().default_status(tenant_id)  # first use: seeds the ready-made set
        return ClientStatus(tenant_id, row.id, row.label, row.position, is_default=True)

    async def _load(self, tenant_id: uuid.UUID) -> list[ClientStatus]:
        result = await self.session.execute(select(ClientStatus).where(client_statuses.c.tenant_id == tenant_id))
        return list(result.scalars())

    def add(self, status: ClientStatus) -> None:
        self.session.add(status)


class AbstractNoteRepository(abc.ABC):
    def __init__(self) -> None:
        self.seen: set[Note] = set()

    @abc.abstractmethod
    def add(self, note: Note) -> None: ...

    @abc.abstractmethod
    async def get(self, tenant_id: uuid.UUID, client_id: uuid.UUID, note_id: uuid.UUID) -> Note | None: ...


class SqlAlchemyNoteRepository(AbstractNoteRepository):
    def __init__(self, session: AsyncSession) -> None:
        super().__init__()
        self.session = session

    def add(self, note: Note) -> None:
        self.session.add(note)
        self.seen.add(note)

    async def get(self, tenant_id: uuid.UUID, client_id: uuid.UUID, note_id: uuid.UUID) -> Note | None:
        note = await self.session.get(Note, (tenant_id, note_id))
        if note is None or note.client_id != client_id:
            return None
        self.seen.add(note)
        return note


class AbstractGroupRepository(abc.ABC):
    """Groups are sets: memberships change with set statements, never by loading every member."""

    @abc.abstractmethod
    async def all(self, tenant_id: uuid.UUID) -> list[ClientGroup]:
        """The business's groups by name, each with its live members counted and its staff in assigned order."""

    async def get(self, tenant_id: uuid.UUID, group_id: uuid.UUID) -> ClientGroup | None:
        return next((g for g in await self.all(tenant_id) if g.id == group_id), None)

    @abc.abstractmethod
    async def create(self, tenant_id: uuid.UUID, group_id: uuid.UUID, name: str, now: datetime) -> None:
        """Conflict GROUP_NAME_TAKEN when the business has a group of this name."""

    @abc.abstractmethod
    async def rename(self, tenant_id: uuid.UUID, group_id: uuid.UUID, name: str) -> bool:
        """False when there is no such group; Conflict GROUP_NAME_TAKEN as for create."""

    @abc.abstractmethod
    async def delete(self, tenant_id: uuid.UUID, group_id: uuid.UUID) -> bool: ...

    @abc.abstractmethod
    async def unknown_clients(self, tenant_id: uuid.UUID, client_ids: list[uuid.UUID]) -> list[uuid.UUID]:
        """Those of ``client_ids`` that are not live clients of the business (the others stay as they are until
        the unit ends: no merge or erasure of them meanwhile)."""

    @abc.abstractmethod
    async def add_members(
        self, tenant_id: uuid.UUID, group_id: uuid.UUID, client_ids: list[uuid.UUID], now: datetime
    ) -> None: ...

    @abc.abstractmethod
    async def set_staff(
        self, tenant_id: uuid.UUID, group_id: uuid.UUID, staff_ids: list[uuid.UUID], now: datetime
    ) -> None:
        """The group's staff become ``staff_ids``: the ones kept keep their assignment time."""

    @abc.abstractmethod
    async def remove_members(self, tenant_id: uuid.UUID, group_id: uuid.UUID, client_ids: list[uuid.UUID]) -> None: ...


class SqlAlchemyGroupRepository(AbstractGroupRepository):
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def all(self, tenant_id: uuid.UUID) -> list[ClientGroup]:
        rows = await self.session.execute(
            text(
                "SELECT g.id, g.name, count(c.id) AS member_count, "
                "ARRAY(SELECT s.staff_id FROM client_group_staff s WHERE s.tenant_id = g.tenant_id "
                "AND s.group_id = g.id ORDER BY s.assigned_at, s.staff_id) AS staff_ids FROM client_groups g "
                "LEFT JOIN client_group_members m ON m.tenant_id = g.tenant_id AND m.group_id = g.id "
                # A merged-away client's memberships wait for an unmerge; they are not members now.
                "LEFT JOIN clients c ON c.tenant_id = m.tenant_id AND c.id = m.client_id AND c.merged_into IS NULL "
                "WHERE g.tenant_id = :t GROUP BY g.tenant_id, g.id, g.name ORDER BY lower(g.name)"
            ),
            {"t": tenant_id},
        )
        return [ClientGroup(r.id, r.name, r.member_count, tuple(r.staff_ids)) for r in rows]

    async def create(self, tenant_id: uuid.UUID, group_id: uuid.UUID, name: str, now: datetime) -> None:
        await self._unique_name(
            text("INSERT INTO client_groups (tenant_id, id, name, created_at) VALUES (:t, :id, :name, :now)"),
            {"t": tenant_id, "id": group_id, "name": name, "now": now},
        )

    async def rename(self, tenant_id: uuid.UUID, group_id: uuid.UUID, name: str) -> bool:
        result = await self._unique_name(
            text("UPDATE client_groups SET name = :name WHERE tenant_id = :t AND id = :id"),
            {"t": tenant_id, "id": group_id, "name": name},
        )
        return bool(result.rowcount)

    async def _unique_name(self, statement: Any, params: dict[str, Any]) -> Any:
        try:
            return await self.session.execute(statement, params)
        except IntegrityError as exc:
            if "client_groups_name" in str(exc.orig):
                raise Conflict("a group with this name already exists", reason="GROUP_NAME_TAKEN") from exc
            raise

    async def delete(self, tenant_id: uuid.UUID, group_id: uuid.UUID) -> bool:
        result = await self.session.execute(
            text("DELETE FROM client_groups WHERE tenant_id = :t AND id = :id"), {"t": tenant_id, "id": group_id}
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def unknown_clients(self, tenant_id: uuid.UUID, client_ids: list[uuid.UUID]) -> list[uuid.UUID]:
        rows = await self.session.execute(
            # FOR SHARE: no merge or erasure of these clients until the memberships are written.
            text(
                "SELECT id FROM clients WHERE tenant_id = :t AND id = ANY(:ids) AND deleted_at IS NULL "
                "AND merged_into IS NULL FOR SHARE"
            ),
            {"t": tenant_id, "ids": client_ids},
        )
        known = {r.id for r in rows}
        return [i for i in client_ids if i not in known]

    async def add_members(
        self, tenant_id: uuid.UUID, group_id: uuid.UUID, client_ids: list[uuid.UUID], now: datetime
    ) -> None:
        await self.session.execute(
            text(
                "INSERT INTO client_group_members (tenant_id, group_id, client_id, added_at) "
                "SELECT :t, :g, unnest(CAST(:ids AS uuid[])), :now ON CONFLICT DO NOTHING"
            ),
            {"t": tenant_id, "g": group_id, "ids": client_ids, "now": now},
        )

    async def set_staff(
        self, tenant_id: uuid.UUID, group_id: uuid.UUID, staff_ids: list[uuid.UUID], now: datetime
    ) -> None:
        await self.session.execute(
            text(
                "DELETE FROM client_group_staff WHERE tenant_id = :t AND group_id = :g "
                "AND NOT staff_id = ANY(CAST(:ids AS uuid[]))"
            ),
            {"t": tenant_id, "g": group_id, "ids": staff_ids},
        )
        await self.session.execute(
            text(
                "INSERT INTO client_group_staff (tenant_id, group_id, staff_id, assigned_at) "
                # One microsecond apart: the order given is the order assigned.
                "SELECT :t, :g, s.id, CAST(:now AS timestamptz) + make_interval(secs => s.n / 1e6) "
                "FROM unnest(CAST(:ids AS uuid[])) WITH ORDINALITY AS s(id, n) ON CONFLICT DO NOTHING"
            ),
            {"t": tenant_id, "g": group_id, "ids": staff_ids, "now": now},
        )

    async def remove_members(self, tenant_id: uuid.UUID, group_id: uuid.UUID, client_ids: list[uuid.UUID]) -> None:
        await self.session.execute(
            text("DELETE FROM client_group_members WHERE tenant_id = :t AND group_id = :g AND client_id = ANY(:ids)"),
            {"t": tenant_id, "g": group_id, "ids": client_ids},
        )


class AbstractClientQuota(abc.ABC):
    @abc.abstractmethod
    async def change(self, tenant_id: uuid.UUID, delta: int, *, max_clients: int | None) -> None:
        """Count ``delta`` more live clients when the unit commits (refused then if over ``max_clients``:
        FailedPrecondition PLAN_CLIENT_LIMIT)."""


class SqlAlchemyClientQuota(AbstractClientQuota):
    """Live clients per tenant; the schema refuses a count over the plan's limit.

    Every create, delete and restore of a tenant updates its one counter row, so the change is written last
    in its unit of work (``apply``, just before the commit): the row stays locked for that statement and the
    commit, not for the whole transaction, and a tenant's concurrent creates queue on it for less.
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._pending: list[tuple[uuid.UUID, int, int | None]] = []

    async def change(self, tenant_id: uuid.UUID, delta: int, *, max_clients: int | None) -> None:
        self._pending.append((tenant_id, delta, max_clients))

    @property
    def pending(self) -> tuple[tuple[uuid.UUID, int, int | None], ...]:
        """The changes not written yet: (tenant, delta, plan limit)."""
        return tuple(self._pending)

    def written_elsewhere(self) -> None:
        """The pending changes were written by another statement of this unit (adapters/client_insert.py)."""
        self._pending = []

    async def apply(self) -> dict[uuid.UUID, int | None]:
        """Write the pending changes; returns each tenant's catalogue version as this write saw it (the
        statement every create runs last, so checking cached creation inputs costs no round trip)."""
        pending, self._pending = self._pending, []
        return {
            tenant_id: await self._write(tenant_id, delta, max_clients) for tenant_id, delta, max_clients in pending
        }

    async def _write(self, tenant_id: uuid.UUID, delta: int, max_clients: int | None) -> int | None:
        try:
            version: int | None = await self.session.scalar(
                text(
                    "INSERT INTO tenant_client_counts AS c (tenant_id, live_clients, max_clients) "
                    "VALUES (:t, greatest(:d, 0), :max) ON CONFLICT (tenant_id) DO UPDATE "
                    # Increments carry the current plan; decrements keep the limit they found.
                    "SET live_clients = c.live_clients + :d, "
                    "max_clients = CASE WHEN :d > 0 THEN :max ELSE c.max_clients END "
                    "RETURNING (SELECT v.version FROM client_catalogue_versions v WHERE v.tenant_id = c.tenant_id)"
                ),
                {"t": tenant_id, "d": delta, "max": max_clients},
            )
            return version
        except IntegrityError as exc:
            if "tenant_client_counts_within_plan" in str(exc.orig):
                raise over_plan(max_clients) from exc
            raise


def over_plan(max_clients: int | None) -> FailedPrecondition:
    """The refusal of a count the schema found over the plan (CHECK tenant_client_counts_within_plan)."""
    return FailedPrecondition(
        f"your plan allows {max_clients} active clients; delete some or upgrade the plan", reason="PLAN_CLIENT_LIMIT"
    )
