"""Appointment requests in PostgreSQL (Core queries; the domain class never sees SQLAlchemy).

Saving an existing request is a conditional update on the version it was read at, so a change made in
between is refused (409) rather than overwritten; decisions also read the row FOR UPDATE, so they queue.
"""

from __future__ import annotations

import abc
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from platform_core.db import lock_for_transaction
from platform_core.errors import Conflict, NotFound
from portal_requests_svc.adapters.tables import (
    appointment_requests,
    clients_needing_approval,
    request_clients,
    request_counters,
    request_history,
    request_settings,
)
from portal_requests_svc.domain.requests import (
    CONCURRENT_CHANGE,
    OPEN,
    AppointmentRequest,
    HeldSlot,
    Status,
    TimeOption,
)

FIRST_REFERENCE = 1001
DEFAULT_PROPOSAL_HOLD_MINUTES = 2880
DEFAULT_OFFER_HOLD_MINUTES = 120


@dataclass(frozen=True)
class ClientContact:
    """The client as the client service described it at ``as_of``."""

    client_id: uuid.UUID
    name: str
    email: str
    phone: str
    as_of: datetime


@dataclass(frozen=True)
class RequestSettings:
    ticket_url_pattern: str = ""
    version: int = 0
    # How long proposed times hold for the client.
    proposal_hold_minutes: int = DEFAULT_PROPOSAL_HOLD_MINUTES
    # How long a waitlist offer holds.
    offer_hold_minutes: int = DEFAULT_OFFER_HOLD_MINUTES
    # Pending requests hold their first preferred time.
    tentative_holds: bool = False

    @property
    def proposal_hold(self) -> timedelta:
        return timedelta(minutes=self.proposal_hold_minutes)

    @property
    def offer_hold(self) -> timedelta:
        return timedelta(minutes=self.offer_hold_minutes)

    @classmethod
    def of(cls, row: Any) -> RequestSettings:
        return cls(
            row.ticket_url_pattern, row.version, row.proposal_hold_minutes, row.offer_hold_minutes, row.tentative_holds
        )


def options_json(options: Sequence[TimeOption]) -> list[dict[str, str | None]]:
    return [{"start": o.start.isoformat(), "end": o.end.isoformat() if o.end else None} for o in options]


def options_from(raw: Sequence[dict[str, str | None]]) -> tuple[TimeOption, ...]:
    return tuple(
        TimeOption(datetime.fromisoformat(str(o["start"])), datetime.fromisoformat(o["end"]) if o["end"] else None)
        for o in raw
    )


def _hold_values(request: AppointmentRequest) -> dict[str, Any]:
    hold = request.hold
    return {
        "hold_staff_id": hold.staff_id if hold else None,
        "hold_start": hold.start if hold else None,
        "hold_end": hold.end if hold else None,
    }


def request_from_row(row: Any) -> AppointmentRequest:
    return AppointmentRequest(
        tenant_id=row.tenant_id,
        id=row.id,
        client_id=row.client_id,
        service_id=row.service_id,
        preferred_staff_id=row.preferred_staff_id,
        options=options_from(row.options),
        message=row.message,
        timezone=row.timezone,
        status=Status(row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
        submission_id=row.submission_id,
        appointment_id=row.appointment_id,
        decline_reason=row.decline_reason,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        version=row.version,
        reference_number=row.reference_number,
        service_name=row.service_name,
        duration_minutes=row.duration_minutes,
        business_timezone=row.business_timezone,
        preferred_staff_name=row.preferred_staff_name,
        channel=row.channel,
        held_for_approval=row.held_for_approval,
        technician_id=row.technician_id,
        technician_name=row.technician_name,
        start=row.start_at,
        end=row.end_at,
        internal_notes=row.internal_notes,
        ticket=row.ticket,
        cancelled_by=row.cancelled_by,
        cancelled_at=row.cancelled_at,
        alternatives=tuple(datetime.fromisoformat(a) for a in row.alternatives),
        hold_until=row.hold_until,
        proposal_note=row.proposal_note,
        proposed_technician_id=row.proposed_technician_id,
        proposed_technician_name=row.proposed_technician_name,
        hold=HeldSlot(row.hold_staff_id, row.hold_start, row.hold_end) if row.hold_staff_id else None,
    )


class AbstractRequestRepository(abc.ABC):
    def __init__(self) -> None:
        self.seen: set[AppointmentRequest] = set()

    def add(self, request: AppointmentRequest) -> None:
        self.seen.add(request)

    async def get(self, tenant_id: uuid.UUID, request_id: uuid.UUID, *, for_update: bool = False) -> AppointmentRequest:
        request = await self._get(tenant_id, request_id, for_update=for_update)
        if request is None:
            raise NotFound("appointment request not found")
        self.seen.add(request)
        return request

    async def approved_with(self, tenant_id: uuid.UUID, appointment_id: uuid.UUID) -> AppointmentRequest | None:
        """The approved request that booked the appointment, locked for this transaction, if any."""
        found = await self._approved_with(tenant_id, appointment_id)
        if found is not None:
            self.seen.add(found)
        return found

    async def expirable(self, now: datetime, limit: int) -> list[AppointmentRequest]:
        found = await self._expirable(now, limit)
        self.seen.update(found)
        return found

    @abc.abstractmethod
    async def _get(
        self, tenant_id: uuid.UUID, request_id: uuid.UUID, *, for_update: bool
    ) -> AppointmentRequest | None: ...

    @abc.abstractmethod
    async def _approved_with(self, tenant_id: uuid.UUID, appointment_id: uuid.UUID) -> AppointmentRequest | None: ...

    @abc.abstractmethod
    async def _expirable(self, now: datetime, limit: int) -> list[AppointmentRequest]:
        """Pending requests whose every option has passed, claimed for this transaction (others skip them)."""

    @abc.abstractmethod
    async def get_by_submission(
        self, tenant_id: uuid.UUID, client_id: uuid.UUID, submission_id: str
    ) -> AppointmentRequest | None: ...

    @abc.abstractmethod
    async def lock_client(self, tenant_id: uuid.UUID, client_id: uuid.UUID) -> None:
        """Serialize submissions of one client until the transaction ends (the open-request limit holds)."""

    @abc.abstractmethod
    async def needs_approval(self, tenant_id: uuid.UUID, client_id: uuid.UUID, now: datetime) -> bool:
        """Whether the client's online requests must wait for staff approval at ``now`` (billing's repeat-offender
        rule; it lapses by itself at its instant)."""

    @abc.abstractmethod
    async def lock_hold(self, tenant_id: uuid.UUID, request_id: uuid.UUID) -> None:
        """Hold until the transaction ends the lock of the request's tentative hold (taken by a submission before
        it places the hold, when no row exists yet to lock), so the hold reconciler judges it only after that
        transaction committed or rolled back."""

    @abc.abstractmethod
    async def keeps_hold(self, tenant_id: uuid.UUID, request_id: uuid.UUID) -> bool:
        """Whether a pending request by this id holds a time, read under the hold's lock and the request's row
        lock (both kept until the transaction ends): a submission or change in flight is waited for, and none
        can place or move the hold while the caller acts on the answer."""

    @abc.abstractmethod
    async def holding(self, tenant_id: uuid.UUID, request_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        """Those of the ids that name a pending request holding a time, as committed now (no lock)."""

    @abc.abstractmethod
    async def tenants_with_settings(self) -> list[uuid.UUID]:
        """Every business that saved request settings (only those can have switched tentative holds on)."""

    @abc.abstractmethod
    async def count_open(
        self, tenant_id: uuid.UUID, client_id: uuid.UUID, *, excluding: uuid.UUID | None = None
    ) -> int:
        """The client's open (pending or proposed) requests, but ``excluding``."""

    @abc.abstractmethod
    async def next_reference_number(self, tenant_id: uuid.UUID) -> int:
        """The business's next reference number, taken in this transaction (others wait for its end)."""

    @abc.abstractmethod
    async def remember_client(self, tenant_id: uuid.UUID, contact: ClientContact) -> None:
        """Keep what the client service said of the client, unless something newer is kept already."""

    @abc.abstractmethod
    async def settings(self, tenant_id: uuid.UUID) -> RequestSettings: ...

    @abc.abstractmethod
    async def save_settings(self, tenant_id: uuid.UUID, settings: RequestSettings) -> RequestSettings:
        """Store the settings if ``settings.version`` is the stored one (0: whatever it is); Conflict otherwise."""

    @abc.abstractmethod
    async def save(self, request: AppointmentRequest) -> None:
        """Write the aggregate's changes and new history (called for every seen aggregate before commit)."""


class SqlAlchemyRequestRepository(AbstractRequestRepository):
    def __init__(self, session: AsyncSession) -> None:
        super().__init__()
        self._session = session

    async def _get(self, tenant_id: uuid.UUID, request_id: uuid.UUID, *, for_update: bool) -> AppointmentRequest | None:
        query = select(appointment_requests).where(
            appointment_requests.c.tenant_id == tenant_id, appointment_requests.c.id == request_id
        )
        if for_update:
            query = query.with_for_update()
        row = (await self._session.execute(query)).first()
        return request_from_row(row) if row else None

    async def _approved_with(self, tenant_id: uuid.UUID, appointment_id: uuid.UUID) -> AppointmentRequest | None:
        row = (
            await self._session.execute(
                select(appointment_requests)
                .where(
                    appointment_requests.c.tenant_id == tenant_id,
                    appointment_requests.c.appointment_id == appointment_id,
                    appointment_requests.c.status == Status.APPROVED.value,
                )
                .with_for_update()
            )
        ).first()
        return request_from_row(row) if row else None

    async def _expirable(self, now: datetime, limit: int) -> list[AppointmentRequest]:
        rows = (
            await self._session.execute(
                select(appointment_requests)
                .where(
                    appointment_requests.c.status.in_([s.value for s in OPEN]), appointment_requests.c.expires_at <= now
                )
                .order_by(appointment_requests.c.expires_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
        return [request_from_row(row) for row in rows]

    async def get_by_submission(
        self, tenant_id: uuid.UUID, client_id: uuid.UUID, submission_id: str
    ) -> AppointmentRequest | None:
        row = (
            await self._session.execute(
                select(appointment_requests).where(
                    appointment_requests.c.tenant_id == tenant_id,
                    appointment_requests.c.client_id == client_id,
                    appointment_requests.c.submission_id == submission_id,
                )
            )
        ).first()
        return request_from_row(row) if row else None

    async def lock_client(self, tenant_id: uuid.UUID, client_id: uuid.UUID) -> None:
        await lock_for_transaction(self._session, tenant_id, client_id)

    async def needs_approval(self, tenant_id: uuid.UUID, client_id: uuid.UUID, now: datetime) -> bool:
        found = await self._session.scalar(
            select(
                exists().where(
                    clients_needing_approval.c.tenant_id == tenant_id,
                    clients_needing_approval.c.client_id == client_id,
                    clients_needing_approval.c.until > now,
                )
            )
        )
        return bool(found)

    async def lock_hold(self, tenant_id: uuid.UUID, request_id: uuid.UUID) -> None:
        await lock_for_transaction(self._session, "request_hold", tenant_id, request_id)

    async def keeps_hold(self, tenant_id: uuid.UUID, request_id: uuid.UUID) -> bool:
        await self.lock_hold(tenant_id, request_id)
        r = appointment_requests.c
        row = (
            await self._session.execute(
                select(r.status, r.hold_staff_id).where(r.tenant_id == tenant_id, r.id == request_id).with_for_update()
            )
        ).first()
        return row is not None and row.status == Status.PENDING.value and row.hold_staff_id is not None

    async def holding(self, tenant_id: uuid.UUID, request_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        r = appointment_requests.c
        found = await self._session.scalars(
            select(r.id).where(
                r.tenant_id == tenant_id,
                r.id.in_(request_ids),
                r.status == Status.PENDING.value,
                r.hold_staff_id.is_not(None),
            )
        )
        return set(found.all())

    async def tenants_with_settings(self) -> list[uuid.UUID]:
        return list((await self._session.scalars(select(request_settings.c.tenant_id))).all())

    async def count_open(
        self, tenant_id: uuid.UUID, client_id: uuid.UUID, *, excluding: uuid.UUID | None = None
    ) -> int:
        query = (
            select(func.count())
            .select_from(appointment_requests)
            .where(
                appointment_requests.c.tenant_id == tenant_id,
                appointment_requests.c.client_id == client_id,
                appointment_requests.c.status.in_([s.value for s in OPEN]),
            )
        )
        if excluding is not None:
            query = query.where(appointment_requests.c.id != excluding)
        return int(await self._session.scalar(query) or 0)

    async def next_reference_number(self, tenant_id: uuid.UUID) -> int:
        statement = (
            pg_insert(request_counters)
            .values(tenant_id=tenant_id, last_number=FIRST_REFERENCE)
            .on_conflict_do_update(
                index_elements=[request_counters.c.tenant_id],
                set_={"last_number": request_counters.c.last_number + 1},
            )
            .returning(request_counters.c.last_number)
        )
        return int((await self._session.execute(statement)).scalar_one())

    async def remember_client(self, tenant_id: uuid.UUID, contact: ClientContact) -> None:
        values = {"name": contact.name, "email": contact.email, "phone": contact.phone, "as_of": contact.as_of}
        statement = pg_insert(request_clients).values(tenant_id=tenant_id, client_id=contact.client_id, **values)
        await self._session.execute(
            statement.on_conflict_do_update(
                index_elements=[request_clients.c.tenant_id, request_clients.c.client_id],
                set_=values,
                where=request_clients.c.as_of < statement.excluded.as_of,
            )
        )

    async def settings(self, tenant_id: uuid.UUID) -> RequestSettings:
        row = (
            await self._session.execute(select(request_settings).where(request_settings.c.tenant_id == tenant_id))
        ).first()
        return RequestSettings.of(row) if row else RequestSettings()

    async def save_settings(self, tenant_id: uuid.UUID, settings: RequestSettings) -> RequestSettings:
        s = request_settings.c
        values = {
            "ticket_url_pattern": settings.ticket_url_pattern,
            "proposal_hold_minutes": settings.proposal_hold_minutes,
            "offer_hold_minutes": settings.offer_hold_minutes,
            "tentative_holds": settings.tentative_holds,
        }
        statement = pg_insert(request_settings).values(tenant_id=tenant_id, version=1, **values)
        guard = s.version == settings.version if settings.version else None
        row = (
            await self._session.execute(
                statement.on_conflict_do_update(
                    index_elements=[s.tenant_id],
                    set_={**values, "version": s.version + 1},
                    where=guard,
                ).returning(
                    s.ticket_url_pattern, s.version, s.proposal_hold_minutes, s.offer_hold_minutes, s.tentative_holds
                )
            )
        ).first()
        if row is None or (settings.version and row.version != settings.version + 1):
            raise Conflict("the settings were changed meanwhile; reload them", reason=CONCURRENT_CHANGE)
        return RequestSettings.of(row)

    async def save(self, request: AppointmentRequest) -> None:
        if request.is_new:
            await self._session.execute(
                insert(appointment_requests).values(
                    tenant_id=request.tenant_id,
                    id=request.id,
                    client_id=request.client_id,
                    service_id=request.service_id,
                    preferred_staff_id=request.preferred_staff_id,
                    options=options_json(request.options),
                    expires_at=request.expires_at,
                    message=request.message,
                    timezone=request.timezone,
                    status=request.status.value,
                    submission_id=request.submission_id,
                    version=request.version,
                    created_at=request.created_at,
                    updated_at=request.updated_at,
                    reference_number=request.reference_number,
                    service_name=request.service_name,
                    duration_minutes=request.duration_minutes,
                    business_timezone=request.business_timezone,
                    preferred_staff_name=request.preferred_staff_name,
                    channel=request.channel,
                    held_for_approval=request.held_for_approval,
                    **_hold_values(request),
                )
            )
            request.is_new = False
        elif request.new_history:
            result = await self._session.execute(
                update(appointment_requests)
                .where(
                    appointment_requests.c.tenant_id == request.tenant_id,
                    appointment_requests.c.id == request.id,
                    appointment_requests.c.version == request.version,
                )
                .values(
                    service_id=request.service_id,
                    preferred_staff_id=request.preferred_staff_id,
                    options=options_json(request.options),
                    expires_at=request.expires_at,
                    message=request.message,
                    service_name=request.service_name,
                    duration_minutes=request.duration_minutes,
                    preferred_staff_name=request.preferred_staff_name,
                    status=request.status.value,
                    appointment_id=request.appointment_id,
                    decline_reason=request.decline_reason,
                    decided_by=request.decided_by,
                    decided_at=request.decided_at,
                    technician_id=request.technician_id,
                    technician_name=request.technician_name,
                    start_at=request.start,
                    end_at=request.end,
                    internal_notes=request.internal_notes,
                    ticket=request.ticket,
                    cancelled_by=request.cancelled_by,
                    cancelled_at=request.cancelled_at,
                    alternatives=[a.isoformat() for a in request.alternatives],
                    hold_until=request.hold_until,
                    proposal_note=request.proposal_note,
                    proposed_technician_id=request.proposed_technician_id,
                    proposed_technician_name=request.proposed_technician_name,
                    **_hold_values(request),
                    updated_at=request.updated_at,
                    version=request.version + 1,
                )
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise Conflict("the request was changed at the same time; reload it", reason=CONCURRENT_CHANGE)
            request.version += 1
        if request.new_history:
            await self._session.execute(
                insert(request_history),
                [
                    {
                        "tenant_id": request.tenant_id,
                        "request_id": request.id,
                        "at": entry.at,
                        "actor": entry.actor,
                        "action": entry.action,
                        "details": entry.details,
                    }
                    for entry in request.new_history
                ],
            )
            request.new_history.clear()
