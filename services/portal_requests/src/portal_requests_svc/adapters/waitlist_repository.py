"""Waitlist entries and their offers in PostgreSQL (Core queries).

Entries are read FOR UPDATE when changed, so an acceptance, an expiry and a leave of one entry queue; the
candidates for a freed time and the offers that ran out are claimed with SKIP LOCKED, so replicas share the
work and never handle one twice. An existing entry is saved on the version it was read at.
"""

from __future__ import annotations

import abc
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from platform_core.errors import Conflict, NotFound
from portal_requests_svc.adapters.tables import waitlist_entries, waitlist_offers
from portal_requests_svc.domain.events import FreedSlot
from portal_requests_svc.domain.requests import CONCURRENT_CHANGE, ServiceTerms, Technician
from portal_requests_svc.domain.waitlist import EntryStatus, OfferStatus, WaitlistEntry, WaitlistOffer

e = waitlist_entries.c
o = waitlist_offers.c
# Candidates read per freed time: the first this many waiting for its service on about its day are checked for
# days and hours exactly.
CANDIDATES = 200


def _offer_from_row(row: Any) -> WaitlistOffer:
    return WaitlistOffer(
        id=row.id,
        slot=FreedSlot(row.service_id, row.staff_id, row.start_at, row.end_at),
        hold_until=row.hold_until,
        status=OfferStatus(row.status),
        created_at=row.created_at,
        appointment_id=row.appointment_id,
    )


def entry_from_row(row: Any, offers: Sequence[Any] = ()) -> WaitlistEntry:
    return WaitlistEntry(
        tenant_id=row.tenant_id,
        id=row.id,
        client_id=row.client_id,
        service=ServiceTerms(row.service_id, row.service_name, row.duration_minutes),
        staff=Technician(row.staff_id, row.staff_name) if row.staff_id else None,
        from_date=row.from_date,
        to_date=row.to_date,
        window_start=row.window_start,
        window_end=row.window_end,
        timezone=row.timezone,
        business_timezone=row.business_timezone,
        joined_by=row.joined_by,
        booking_rules_overridden=row.booking_rules_overridden,
        status=EntryStatus(row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
        offers=[_offer_from_row(r) for r in offers],
    )


class AbstractWaitlistRepository(abc.ABC):
    def __init__(self) -> None:
        self.seen: set[WaitlistEntry] = set()

    def add(self, entry: WaitlistEntry) -> None:
        self.seen.add(entry)

    async def get(self, tenant_id: uuid.UUID, entry_id: uuid.UUID) -> WaitlistEntry:
        entry = await self._get(tenant_id, entry_id)
        if entry is None:
            raise NotFound("waitlist entry not found")
        self.seen.add(entry)
        return entry

    async def with_offer(self, tenant_id: uuid.UUID, offer_id: uuid.UUID) -> WaitlistEntry:
        entry_id = await self._entry_of_offer(tenant_id, offer_id)
        if entry_id is None:
            raise NotFound("waitlist offer not found")
        return await self.get(tenant_id, entry_id)

    async def candidates(self, tenant_id: uuid.UUID, slot: FreedSlot) -> list[WaitlistEntry]:
        # Entries this unit holds already are not read twice (one object per row).
        found = await self._candidates(tenant_id, slot, {entry.id for entry in self.seen})
        self.seen.update(found)
        return found

    async def ran_out(self, now: datetime, limit: int) -> list[WaitlistEntry]:
        found = await self._ran_out(now, limit)
        self.seen.update(found)
        return found

    @abc.abstractmethod
    async def _get(self, tenant_id: uuid.UUID, entry_id: uuid.UUID) -> WaitlistEntry | None:
        """The entry with its offers, locked for this transaction."""

    @abc.abstractmethod
    async def _entry_of_offer(self, tenant_id: uuid.UUID, offer_id: uuid.UUID) -> uuid.UUID | None: ...

    @abc.abstractmethod
    async def _candidates(self, tenant_id: uuid.UUID, slot: FreedSlot, held: set[uuid.UUID]) -> list[WaitlistEntry]:
        """Waiting entries for the slot's service (and staff member, or anyone) not offered this time before,
        first come first; claimed for this transaction (others skip them)."""

    @abc.abstractmethod
    async def _ran_out(self, now: datetime, limit: int) -> list[WaitlistEntry]:
        """Entries whose open offer's hold has ended, claimed for this transaction."""

    @abc.abstractmethod
    async def save(self, entry: WaitlistEntry) -> None: ...


class SqlAlchemyWaitlistRepository(AbstractWaitlistRepository):
    def __init__(self, session: AsyncSession) -> None:
        super().__init__()
        self._session = session

    async def _with_offers(self, rows: Sequence[Any]) -> list[WaitlistEntry]:
        if not rows:
            return []
        offers: dict[uuid.UUID, list[Any]] = defaultdict(list)
        found = await self._session.execute(
            select(waitlist_offers)
            .where(o.tenant_id == rows[0].tenant_id, o.entry_id.in_([r.id for r in rows]))
            .order_by(o.created_at)
        )
        for offer in found:
            offers[offer.entry_id].append(offer)
        return [entry_from_row(r, offers[r.id]) for r in rows]

    async def _get(self, tenant_id: uuid.UUID, entry_id: uuid.UUID) -> WaitlistEntry | None:
        row = (
            await self._session.execute(
                select(waitlist_entries).where(e.tenant_id == tenant_id, e.id == entry_id).with_for_update()
            )
        ).first()
        return (await self._with_offers([row]))[0] if row else None

    async def _entry_of_offer(self, tenant_id: uuid.UUID, offer_id: uuid.UUID) -> uuid.UUID | None:
        found = await self._session.scalar(select(o.entry_id).where(o.tenant_id == tenant_id, o.id == offer_id))
        return found if isinstance(found, uuid.UUID) else None

    async def _candidates(self, tenant_id: uuid.UUID, slot: FreedSlot, held: set[uuid.UUID]) -> list[WaitlistEntry]:
        offered_before = exists().where(
            o.tenant_id == e.tenant_id, o.entry_id == e.id, o.staff_id == slot.staff_id, o.start_at == slot.start
        )
        rows = (
            await self._session.execute(
                select(waitlist_entries)
                .where(
                    e.tenant_id == tenant_id,
                    e.status == EntryStatus.WAITING.value,
                    e.service_id == slot.service_id,
                    or_(e.staff_id.is_(None), e.staff_id == slot.staff_id),
                    # The day on any client's wall clock is within a day of the UTC one; suits() decides exactly.
                    e.from_date <= (slot.start + timedelta(days=1)).date(),
                    e.to_date >= (slot.start - timedelta(days=1)).date(),
                    ~offered_before,
                    e.id.notin_(held),
                )
                .order_by(e.created_at, e.id)
                .limit(CANDIDATES)
                .with_for_update(skip_locked=True)
            )
        ).all()
        return await self._with_offers(rows)

    async def _ran_out(self, now: datetime, limit: int) -> list[WaitlistEntry]:
        rows = (
            await self._session.execute(
                select(waitlist_entries)
                .join(
                    waitlist_offers,
                    and_(o.tenant_id == e.tenant_id, o.entry_id == e.id, o.status == OfferStatus.OPEN.value),
                )
                .where(o.hold_until <= now)
                .order_by(o.hold_until)
                .limit(limit)
                .with_for_update(of=waitlist_entries, skip_locked=True)
            )
        ).all()
        entries: list[WaitlistEntry] = []
        for tenant_rows in _by_tenant(rows).values():
            entries.extend(await self._with_offers(tenant_rows))
        return entries

    async def save(self, entry: WaitlistEntry) -> None:
        if not (entry.is_new or entry.changed):
            return
        values = {"status": entry.status.value, "updated_at": entry.updated_at}
        if entry.is_new:
            await self._session.execute(
                insert(waitlist_entries).values(
                    tenant_id=entry.tenant_id,
                    id=entry.id,
                    client_id=entry.client_id,
                    service_id=entry.service.service_id,
                    service_name=entry.service.name,
                    duration_minutes=entry.service.duration_minutes,
                    staff_id=entry.staff.staff_id if entry.staff else None,
                    staff_name=entry.staff.name if entry.staff else "",
                    from_date=entry.from_date,
                    to_date=entry.to_date,
                    window_start=entry.window_start,
                    window_end=entry.window_end,
                    timezone=entry.timezone,
                    business_timezone=entry.business_timezone,
                    joined_by=entry.joined_by,
                    booking_rules_overridden=entry.booking_rules_overridden,
                    version=entry.version,
                    created_at=entry.created_at,
                    **values,
                )
            )
            entry.is_new = False
        else:
            result = await self._session.execute(
                update(waitlist_entries)
                .where(e.tenant_id == entry.tenant_id, e.id == entry.id, e.version == entry.version)
                .values(version=entry.version + 1, **values)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise Conflict("the waitlist entry was changed at the same time; retry", reason=CONCURRENT_CHANGE)
            entry.version += 1
        for offer in entry.offers:
            if offer.is_new:
                await self._session.execute(
                    insert(waitlist_offers).values(
                        tenant_id=entry.tenant_id,
                        id=offer.id,
                        entry_id=entry.id,
                        service_id=offer.slot.service_id,
                        staff_id=offer.slot.staff_id,
                        start_at=offer.slot.start,
                        end_at=offer.slot.end,
                        hold_until=offer.hold_until,
                        status=offer.status.value,
                        appointment_id=offer.appointment_id,
                        created_at=offer.created_at,
                    )
                )
            elif offer.changed:
                await self._session.execute(
                    update(waitlist_offers)
                    .where(o.tenant_id == entry.tenant_id, o.id == offer.id)
                    .values(status=offer.status.value, appointment_id=offer.appointment_id)
                )
            offer.is_new = offer.changed = False
        entry.changed = False


def _by_tenant(rows: Sequence[Any]) -> dict[uuid.UUID, list[Any]]:
    grouped: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for row in rows:
        grouped[row.tenant_id].append(row)
    return grouped
