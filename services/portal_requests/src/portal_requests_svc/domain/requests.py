"""The AppointmentRequest aggregate: a client's wish for an appointment (a service, maybe a staff member,
one to five preferred times) that staff approve by booking it with a technician, or decline; the client may
edit it while it is pending and cancel it (an approved one too, which cancels its appointment), and it
expires once every preferred time has passed.

Status changes are checked here first (clear errors) and again by the schema's trigger (the last word).
"""

from __future__ import annotations

import uuid
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from platform_core.errors import Conflict, FailedPrecondition, InvalidArgument
from platform_core.validation import Violations
from portal_requests_svc.domain import events
from portal_requests_svc.domain.events import RequestFacts

MAX_OPTIONS = 5
MAX_MESSAGE_LENGTH = 1000
MAX_REASON_LENGTH = 1000
MAX_INTERNAL_NOTES_LENGTH = 4000
MAX_TICKET_LENGTH = 100
REFERENCE_PREFIX = "REQ-"
# A window longer than a working day is no preference at all.
MAX_WINDOW = timedelta(hours=12)

NOT_PENDING = "REQUEST_NOT_PENDING"
BOOKING_BLOCKED = "BOOKING_BLOCKED"
CLIENT_DELETED = "CLIENT_DELETED"
# The client's online requests wait for staff approval (repeat no-shows): it cannot take a time without it.
APPROVAL_REQUIRED = "APPROVAL_REQUIRED"
TOO_MANY_OPEN_REQUESTS = "TOO_MANY_OPEN_REQUESTS"
MAX_ACTIVE_BOOKINGS = "MAX_ACTIVE_BOOKINGS"
NOT_PROPOSED = "REQUEST_NOT_PROPOSED"
PROPOSAL_EXPIRED = "PROPOSAL_EXPIRED"
MAX_ALTERNATIVES = 3
MAX_PROPOSAL_NOTE_LENGTH = 1000
CONCURRENT_CHANGE = "CONCURRENT_CHANGE"


class Status(StrEnum):
    PENDING = "pending"
    PROPOSED = "proposed"  # staff proposed other times; the client accepts one
    APPROVED = "approved"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


# Mirrors the schema's trigger (appointment_requests_status_transition): only a pending request is decided,
# and an approved one can still be cancelled (with its appointment).
ALLOWED_TRANSITIONS = {
    Status.PENDING: {Status.PROPOSED, Status.APPROVED, Status.DECLINED, Status.CANCELLED, Status.EXPIRED},
    Status.PROPOSED: {Status.APPROVED, Status.DECLINED, Status.CANCELLED, Status.EXPIRED},
    Status.APPROVED: {Status.CANCELLED},
    Status.DECLINED: set(),
    Status.CANCELLED: set(),
    Status.EXPIRED: set(),
}


# Statuses still waiting for an answer: they count as bookings to be and are swept when their time passes.
OPEN = (Status.PENDING, Status.PROPOSED)


@dataclass(frozen=True)
class RequestLimits:
    """The service's settings for requests: open requests per client, how far ahead a time may lie, and how long
    a public booking page visitor's emailed code confirms."""

    max_open_per_client: int
    horizon: timedelta
    code_ttl: timedelta


def reference(number: int) -> str:
    return f"{REFERENCE_PREFIX}{number}"


def reference_number(text: str) -> int | None:
    """The number a typed reference names ("REQ-1042", "req-1042" or "1042"), or None."""
    raw = text.strip().upper().removeprefix(REFERENCE_PREFIX)
    return int(raw) if raw.isdigit() and len(raw) <= 9 else None


@dataclass(frozen=True)
class ServiceTerms:
    """What the request shows of the service asked for, as the catalogue described it when asked."""

    service_id: uuid.UUID
    name: str
    duration_minutes: int


@dataclass(frozen=True)
class Technician:
    staff_id: uuid.UUID
    name: str


@dataclass(frozen=True)
class HeldSlot:
    """What a pending request's tentative hold keeps for it (scheduling holds the time itself)."""

    staff_id: uuid.UUID
    start: datetime
    end: datetime


@dataclass(frozen=True)
class TimeOption:
    """An exact start (no end), or a window the appointment may start in."""

    start: datetime
    end: datetime | None = None

    @property
    def latest_start(self) -> datetime:
        return self.end or self.start

    def fact(self) -> events.OptionFact:
        return events.OptionFact(self.start, self.end)


def check_options(options: Sequence[TimeOption], now: datetime, horizon: timedelta) -> tuple[TimeOption, ...]:
    """The options in the client's order of preference, or InvalidArgument naming each bad one."""
    violations = Violations()
    if not options:
        violations.add("options", "give at least one preferred time")
    if len(options) > MAX_OPTIONS:
        violations.add("options", f"give at most {MAX_OPTIONS} preferred times")
    seen: set[TimeOption] = set()
    for i, option in enumerate(options):
        name = f"options[{i}]"
        if option.start <= now:
            violations.add(f"{name}.start", "must be in the future")
        elif option.start > now + horizon:
            violations.add(f"{name}.start", f"must be within {horizon.days} days")
        if option.end is not None:
            if option.end <= option.start:
                violations.add(f"{name}.end", "must be after the start")
            elif option.end - option.start > MAX_WINDOW:
                violations.add(f"{name}.end", f"a window spans at most {MAX_WINDOW.seconds // 3600} hours")
        if option in seen:
            violations.add(name, "repeats an earlier option")
        seen.add(option)
    violations.raise_if_any()
    return tuple(options)


def check_text(value: str, field_name: str, limit: int, *, required: bool = False) -> str:
    text = value.strip()
    if required and not text:
        raise InvalidArgument.single(field_name, "is required")
    if len(text) > limit:
        raise InvalidArgument.single(field_name, f"must be at most {limit} characters")
    return text


def check_timezone(value: str, field_name: str = "timezone") -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InvalidArgument.single(field_name, "is not an IANA timezone, e.g. Europe/Berlin") from None
    return value


def check_client_may_request(*, deleted: bool, blocked: bool) -> None:
    """What the client service says about the client, asked at submit time, decides whether it may ask."""
    if deleted:
        raise FailedPrecondition("this client record no longer exists", reason=CLIENT_DELETED)
    if blocked:
        raise FailedPrecondition(
            "this client cannot request appointments online; please contact the business", reason=BOOKING_BLOCKED
        )


def check_may_book_without_approval(needs_approval: bool) -> None:
    """A client whose requests wait for staff approval cannot book a time by itself (an offer from the
    waitlist); it asks for the time and staff confirm it."""
    if needs_approval:
        raise FailedPrecondition(
            "the business confirms this client's appointments itself for now: please ask for the time with a request",
            reason=APPROVAL_REQUIRED,
        )


def check_open_limit(open_requests: int, max_open: int) -> None:
    if open_requests >= max_open:
        raise FailedPrecondition(
            f"a client may have at most {max_open} open request(s); withdraw one or wait for an answer",
            reason=TOO_MANY_OPEN_REQUESTS,
        )


def check_active_bookings(active: int, max_active: int) -> None:
    """The business's limit of a client's active bookings (0: none); pending requests count as bookings to be."""
    if max_active and active >= max_active:
        raise FailedPrecondition(
            f"a client may hold at most {max_active} upcoming booking(s) and pending request(s)",
            reason=MAX_ACTIVE_BOOKINGS,
        )


def check_booking_rules(
    *, deleted: bool, blocked: bool, upcoming: int, open_requests: int, max_active: int, override: bool
) -> None:
    """The client's booking rules, the same for every way to a booking (a request, its approval, an accepted
    proposal or waitlist offer): a deleted client never books; the online-booking block and the business's
    limit of active bookings (upcoming appointments plus open requests other than the one being decided) hold
    unless staff override them."""
    if deleted:
        check_client_may_request(deleted=True, blocked=False)
    if override:
        return
    check_client_may_request(deleted=False, blocked=blocked)
    check_active_bookings(upcoming + open_requests, max_active)


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    actor: str  # "client:<id>", "staff:<id>" or "system"
    action: str
    details: dict[str, Any]


def check_ticket(value: str) -> str:
    ticket = value.strip()
    if len(ticket) > MAX_TICKET_LENGTH:
        raise InvalidArgument.single("ticket", f"must be at most {MAX_TICKET_LENGTH} characters")
    if any(c.isspace() or c in "/?#" for c in ticket):
        raise InvalidArgument.single("ticket", "is a ticket id: no spaces, slashes, ? or #")
    return ticket


def check_ticket_url_pattern(value: str) -> str:
    pattern = value.strip()
    if pattern and (not pattern.startswith(("https://", "http://")) or "{id}" not in pattern or len(pattern) > 500):
        raise InvalidArgument.single(
            "ticket_url_pattern", "must be an http(s) URL of at most 500 characters with {id} where the ticket id goes"
        )
    return pattern


def ticket_url(pattern: str, ticket: str) -> str:
    return pattern.replace("{id}", ticket) if pattern and ticket else ""


@dataclass(eq=False)
class AppointmentRequest:
    tenant_id: uuid.UUID
    id: uuid.UUID
    client_id: uuid.UUID
    service_id: uuid.UUID
    preferred_staff_id: uuid.UUID | None
    options: tuple[TimeOption, ...]
    message: str
    timezone: str
    status: Status
    created_at: datetime
    updated_at: datetime
    submission_id: str | None = None
    appointment_id: uuid.UUID | None = None
    decline_reason: str = ""
    decided_by: str = ""
    decided_at: datetime | None = None
    version: int = 1
    # Given by the repository when the request is first saved (the business's counter).
    reference_number: int = 0
    service_name: str = ""
    duration_minutes: int = 0
    business_timezone: str = ""
    preferred_staff_name: str = ""
    channel: str = "portal"
    # The client's online requests had to wait for staff approval when it was made (the repeat-offender rule).
    held_for_approval: bool = False
    technician_id: uuid.UUID | None = None
    technician_name: str = ""
    start: datetime | None = None
    end: datetime | None = None
    internal_notes: str = ""
    ticket: str = ""
    cancelled_by: str = ""
    cancelled_at: datetime | None = None
    # A counter-offer: the times staff proposed, until when they hold, a note and maybe the technician.
    alternatives: tuple[datetime, ...] = ()
    hold_until: datetime | None = None
    proposal_note: str = ""
    proposed_technician_id: uuid.UUID | None = None
    proposed_technician_name: str = ""
    # Pending only: the time held for it (the business's tentative holds).
    hold: HeldSlot | None = None
    is_new: bool = False
    events: list[Any] = field(default_factory=list)
    new_history: list[HistoryEntry] = field(default_factory=list)

    @classmethod
    def submit(
        cls,
        *,
        tenant_id: uuid.UUID,
        request_id: uuid.UUID,
        client_id: uuid.UUID,
        service: ServiceTerms,
        preferred_staff: Technician | None,
        options: Sequence[TimeOption],
        message: str,
        timezone: str,
        business_timezone: str,
        submission_id: str | None,
        now: datetime,
        horizon: timedelta,
        channel: str = "portal",
    ) -> AppointmentRequest:
        checked = check_options(options, now, horizon)
        request = cls(
            tenant_id=tenant_id,
            id=request_id,
            client_id=client_id,
            service_id=service.service_id,
            preferred_staff_id=preferred_staff.staff_id if preferred_staff else None,
            options=checked,
            message=check_text(message, "message", MAX_MESSAGE_LENGTH),
            timezone=check_timezone(timezone),
            status=Status.PENDING,
            created_at=now,
            updated_at=now,
            submission_id=submission_id,
            service_name=service.name,
            duration_minutes=service.duration_minutes,
            business_timezone=business_timezone,
            preferred_staff_name=preferred_staff.name if preferred_staff else "",
            channel=channel,
            is_new=True,
        )
        return request

    def register(
        self,
        reference_number: int,
        *,
        actor: str = "",
        booking_rules_overridden: bool = False,
        held_for_approval: bool = False,
    ) -> None:
        """Give the new request its reference (the business's next number, taken when it is saved): only
        then is it submitted, so the event and the history carry the reference. Staff who make a request for a
        client (``actor``) may have booked past its booking rules: kept on record. A client whose requests must
        wait for staff approval (``held_for_approval``) has it on the request and in its history."""
        assert self.is_new and not self.reference_number
        self.reference_number = reference_number
        self.held_for_approval = held_for_approval
        details: dict[str, Any] = {"options": len(self.options), "reference": self.reference, "channel": self.channel}
        if booking_rules_overridden:
            details["booking_rules_overridden"] = True
        if held_for_approval:
            details["held_for_approval"] = True
        self.new_history.append(
            HistoryEntry(self.created_at, actor or f"client:{self.client_id}", "submitted", details)
        )
        self.events.append(
            events.RequestSubmitted(
                tenant_id=self.tenant_id,
                request_id=self.id,
                client_id=self.client_id,
                facts=self.facts(),
                options=tuple(o.fact() for o in self.options),
                timezone=self.timezone,
                occurred_at=self.created_at,
            )
        )

    @property
    def reference(self) -> str:
        return reference(self.reference_number)

    @property
    def first_slot(self) -> datetime | None:
        """The time a tentative hold keeps: the first preferred time when it is an exact start (a window is no
        slot to hold)."""
        first = self.options[0]
        return first.start if first.end is None else None

    def facts(self) -> RequestFacts:
        """What any message about the request needs, as it stands now."""
        return RequestFacts(
            reference=self.reference,
            service_id=self.service_id,
            service_name=self.service_name,
            duration_minutes=self.duration_minutes,
            client_timezone=self.timezone,
            business_timezone=self.business_timezone,
            preferred_staff_id=self.preferred_staff_id,
            preferred_staff_name=self.preferred_staff_name,
            description=self.message,
            channel=self.channel,
            technician_id=self.technician_id,
            technician_name=self.technician_name,
            start=self.start,
            end=self.end,
        )

    @property
    def expires_at(self) -> datetime:
        """When the last preferred time passes (or a proposal's hold ends): an open request is expired from then
        on."""
        if self.status is Status.PROPOSED and self.hold_until is not None:
            return self.hold_until
        return max(o.latest_start for o in self.options)

    def has_passed(self, now: datetime) -> bool:
        return self.expires_at <= now

    def require_pending(self) -> None:
        if self.status is not Status.PENDING:
            raise FailedPrecondition(f"the request is already {self.status.value}", reason=NOT_PENDING)

    def check_version(self, expected: int) -> None:
        """An edit or a decision made on what someone read: a change since then wins and this one is refused."""
        if expected and expected != self.version:
            raise Conflict(
                f"the request was changed meanwhile (version {self.version}, not {expected}); reload it",
                reason=CONCURRENT_CHANGE,
            )

    def update(
        self,
        *,
        service: ServiceTerms | None,
        preferred_staff: Technician | Unchanged | None,
        options: Sequence[TimeOption] | None,
        message: str | None,
        actor: str,
        now: datetime,
        horizon: timedelta,
    ) -> None:
        """The client's edit of its pending request: only what is given changes."""
        self.require_pending()
        changed: list[str] = []
        if service is not None and service.service_id != self.service_id:
            self.service_id, self.service_name, self.duration_minutes = (
                service.service_id,
                service.name,
                service.duration_minutes,
            )
            changed.append("service_id")
        if not isinstance(preferred_staff, Unchanged):
            staff_id = preferred_staff.staff_id if preferred_staff else None
            if staff_id != self.preferred_staff_id:
                self.preferred_staff_id = staff_id
                self.preferred_staff_name = preferred_staff.name if preferred_staff else ""
                changed.append("preferred_staff_id")
        if options is not None:
            checked = check_options(options, now, horizon)
            if checked != self.options:
                self.options = checked
                changed.append("options")
        if message is not None:
            text = check_text(message, "message", MAX_MESSAGE_LENGTH)
            if text != self.message:
                self.message = text
                changed.append("message")
        if not changed:
            return
        self.updated_at = now
        self.new_history.append(HistoryEntry(now, actor, "updated", {"changed": changed}))
        self.events.append(
            events.RequestUpdated(
                self.tenant_id,
                self.id,
                self.client_id,
                self.facts(),
                tuple(o.fact() for o in self.options),
                tuple(changed),
                self.version + 1,  # what saving this edit makes it
                now,
            )
        )

    def approve(
        self,
        *,
        appointment_id: uuid.UUID,
        technician: Technician,
        start: datetime,
        end: datetime,
        internal_notes: str,
        ticket: str,
        actor: str,
        now: datetime,
        booking_rules_overridden: bool = False,
    ) -> None:
        notes = check_text(internal_notes, "internal_notes", MAX_INTERNAL_NOTES_LENGTH)
        linked = check_ticket(ticket)
        self._move(
            Status.APPROVED,
            actor,
            now,
            {
                "appointment_id": str(appointment_id),
                "start": start.isoformat(),
                "technician_id": str(technician.staff_id),
                # Staff booked past the client's booking rules (blocked, or at its limit): kept on record.
                **({"booking_rules_overridden": True} if booking_rules_overridden else {}),
            },
        )
        self.appointment_id = appointment_id
        self.technician_id, self.technician_name = technician.staff_id, technician.name
        self.start, self.end = start, end
        self.internal_notes, self.ticket = notes, linked
        self.events.append(
            events.RequestApproved(self.tenant_id, self.id, self.client_id, self.facts(), appointment_id, actor, now)
        )

    def decline(self, *, reason: str, actor: str, now: datetime) -> None:
        """Staff say no, also to a request they proposed other times for."""
        if self.status not in OPEN:
            raise FailedPrecondition(f"the request is already {self.status.value}", reason=NOT_PENDING)
        text = check_text(reason, "reason", MAX_REASON_LENGTH, required=True)
        self._record(Status.DECLINED, actor, now, {"reason": text})
        self.decided_by, self.decided_at = actor, now
        self.decline_reason = text
        self.events.append(
            events.RequestDeclined(self.tenant_id, self.id, self.client_id, self.facts(), text, actor, now)
        )

    def require_cancellable(self) -> None:
        if Status.CANCELLED not in ALLOWED_TRANSITIONS[self.status]:
            raise FailedPrecondition(f"the request is already {self.status.value}", reason=NOT_PENDING)

    def cancel(self, *, by: str, actor: str, now: datetime) -> None:
        """Final. An approved request's appointment is cancelled by the caller first (the business's
        cancellation notice is scheduling's rule)."""
        self.require_cancellable()
        was_approved = self.status is Status.APPROVED
        details: dict[str, Any] = {"appointment_id": str(self.appointment_id)} if was_approved else {}
        self._record(Status.CANCELLED, actor, now, details)
        if not was_approved:
            self.decided_by, self.decided_at = actor, now
        self.cancelled_by, self.cancelled_at = by, now
        self.events.append(
            events.RequestCancelled(
                self.tenant_id, self.id, self.client_id, self.facts(), by, was_approved, self.appointment_id, now
            )
        )

    def propose(
        self,
        *,
        alternatives: Sequence[datetime],
        technician: Technician | None,
        note: str,
        hold: timedelta,
        actor: str,
        now: datetime,
    ) -> None:
        """Instead of declining: one to three other times the client may accept until the hold ends."""
        self.require_pending()
        violations = Violations()
        if not 1 <= len(alternatives) <= MAX_ALTERNATIVES:
            violations.add("alternatives", f"give one to {MAX_ALTERNATIVES} times")
        for i, start in enumerate(alternatives):
            if start <= now:
                violations.add(f"alternatives[{i}]", "must be in the future")
            elif start in alternatives[:i]:
                violations.add(f"alternatives[{i}]", "repeats an earlier time")
        violations.raise_if_any()
        text = check_text(note, "note", MAX_PROPOSAL_NOTE_LENGTH)
        # Held no longer than the first proposed time: a proposal is no use once its times have passed.
        hold_until = min(now + hold, max(alternatives))
        self.alternatives = tuple(alternatives)
        self.hold_until = hold_until
        self.proposal_note = text
        self.proposed_technician_id = technician.staff_id if technician else None
        self.proposed_technician_name = technician.name if technician else ""
        self._record(
            Status.PROPOSED,
            actor,
            now,
            {"alternatives": [a.isoformat() for a in alternatives], "hold_until": hold_until.isoformat()},
        )
        self.events.append(
            events.RequestAlternativesProposed(
                self.tenant_id,
                self.id,
                self.client_id,
                self.facts(),
                self.alternatives,
                hold_until,
                actor,
                self.proposed_technician_id,
                self.proposed_technician_name,
                text,
                now,
            )
        )

    def require_acceptable(self, alternative: int, now: datetime) -> datetime:
        """The proposed time the client picks, while the proposal holds."""
        if self.status is not Status.PROPOSED:
            raise FailedPrecondition(
                f"the request is {self.status.value}, not awaiting your answer", reason=NOT_PROPOSED
            )
        assert self.hold_until is not None
        if now >= self.hold_until:
            raise FailedPrecondition(
                "the proposed times were held until " + self.hold_until.isoformat(), reason=PROPOSAL_EXPIRED
            )
        if not 0 <= alternative < len(self.alternatives):
            raise InvalidArgument.single("alternative", f"must be 0 to {len(self.alternatives) - 1}")
        return self.alternatives[alternative]

    def accept_alternative(
        self,
        *,
        alternative: int,
        appointment_id: uuid.UUID,
        technician: Technician,
        start: datetime,
        end: datetime,
        now: datetime,
    ) -> None:
        self.require_acceptable(alternative, now)
        actor = f"client:{self.client_id}"
        self._record(
            Status.APPROVED,
            actor,
            now,
            {"alternative": alternative, "appointment_id": str(appointment_id), "start": start.isoformat()},
        )
        self.decided_by, self.decided_at = actor, now
        self.appointment_id = appointment_id
        self.technician_id, self.technician_name = technician.staff_id, technician.name
        self.start, self.end = start, end
        self.events.append(
            events.RequestAlternativeAccepted(
                self.tenant_id, self.id, self.client_id, self.facts(), appointment_id, now
            )
        )

    def expire(self, now: datetime) -> None:
        if self.status not in OPEN or not self.has_passed(now):
            raise FailedPrecondition("a request expires only once every preferred time has passed", reason=NOT_PENDING)
        details = (
            {"hold_until": self.hold_until.isoformat()} if self.status is Status.PROPOSED and self.hold_until else {}
        )
        self._record(Status.EXPIRED, "system", now, details)
        self.decided_by, self.decided_at = "system", now
        self.events.append(events.RequestExpired(self.tenant_id, self.id, self.client_id, self.facts(), now))

    def _move(self, to: Status, actor: str, now: datetime, details: dict[str, Any]) -> None:
        """A decision on a pending request."""
        self.require_pending()
        self._record(to, actor, now, details)
        self.decided_by = actor
        self.decided_at = now

    def _record(self, to: Status, actor: str, now: datetime, details: dict[str, Any]) -> None:
        assert to in ALLOWED_TRANSITIONS[self.status]
        # Only a pending request holds a time: whatever it becomes, the hold is over (released by the caller).
        self.hold = None
        self.new_history.append(
            HistoryEntry(now, actor, to.value, {"from": self.status.value, "to": to.value} | details)
        )
        self.status = to
        self.updated_at = now


class Unchanged:
    """An edit that leaves a field as it is (None means "anyone" for the preferred staff member)."""


UNCHANGED = Unchanged()
