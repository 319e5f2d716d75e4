"""The AppointmentRequest aggregate: a client's wish for an appointment (a service, maybe a staff member,
one to five preferred times) that staff approve by booking it, or decline; the client may withdraw it while
it is pending, and it expires once every preferred time has passed.

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

from platform_core.errors import FailedPrecondition, FieldViolation, InvalidArgument
from portal_requests_svc.domain import events

MAX_OPTIONS = 5
MAX_MESSAGE_LENGTH = 1000
MAX_REASON_LENGTH = 1000
# A window longer than a working day is no preference at all.
MAX_WINDOW = timedelta(hours=12)

NOT_PENDING = "REQUEST_NOT_PENDING"
BOOKING_BLOCKED = "BOOKING_BLOCKED"
CLIENT_DELETED = "CLIENT_DELETED"
TOO_MANY_OPEN_REQUESTS = "TOO_MANY_OPEN_REQUESTS"


class Status(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


# Mirrors the schema's trigger (appointment_requests_status_transition): only a pending request is decided.
ALLOWED_TRANSITIONS = {
    Status.PENDING: {Status.APPROVED, Status.DECLINED, Status.WITHDRAWN, Status.EXPIRED},
    Status.APPROVED: set(),
    Status.DECLINED: set(),
    Status.WITHDRAWN: set(),
    Status.EXPIRED: set(),
}


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
    violations: list[FieldViolation] = []
    if not options:
        violations.append(FieldViolation("options", "give at least one preferred time"))
    if len(options) > MAX_OPTIONS:
        violations.append(FieldViolation("options", f"give at most {MAX_OPTIONS} preferred times"))
    seen: set[TimeOption] = set()
    for i, option in enumerate(options):
        name = f"options[{i}]"
        if option.start <= now:
            violations.append(FieldViolation(f"{name}.start", "must be in the future"))
        elif option.start > now + horizon:
            violations.append(FieldViolation(f"{name}.start", f"must be within {horizon.days} days"))
        if option.end is not None:
            if option.end <= option.start:
                violations.append(FieldViolation(f"{name}.end", "must be after the start"))
            elif option.end - option.start > MAX_WINDOW:
                violations.append(
                    FieldViolation(f"{name}.end", f"a window spans at most {MAX_WINDOW.seconds // 3600} hours")
                )
        if option in seen:
            violations.append(FieldViolation(name, "repeats an earlier option"))
        seen.add(option)
    if violations:
        raise InvalidArgument(violations)
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


def check_open_limit(open_requests: int, max_open: int) -> None:
    if open_requests >= max_open:
        raise FailedPrecondition(
            f"a client may have at most {max_open} open request(s); withdraw one or wait for an answer",
            reason=TOO_MANY_OPEN_REQUESTS,
        )


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    actor: str  # "client:<id>", "staff:<id>" or "system"
    action: str
    details: dict[str, Any]


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
        service_id: uuid.UUID,
        preferred_staff_id: uuid.UUID | None,
        options: Sequence[TimeOption],
        message: str,
        timezone: str,
        submission_id: str | None,
        now: datetime,
        horizon: timedelta,
    ) -> AppointmentRequest:
        checked = check_options(options, now, horizon)
        request = cls(
            tenant_id=tenant_id,
            id=request_id,
            client_id=client_id,
            service_id=service_id,
            preferred_staff_id=preferred_staff_id,
            options=checked,
            message=check_text(message, "message", MAX_MESSAGE_LENGTH),
            timezone=check_timezone(timezone),
            status=Status.PENDING,
            created_at=now,
            updated_at=now,
            submission_id=submission_id,
            is_new=True,
        )
        request.new_history.append(HistoryEntry(now, f"client:{client_id}", "submitted", {"options": len(checked)}))
        request.events.append(
            events.RequestSubmitted(
                tenant_id=tenant_id,
                request_id=request_id,
                client_id=client_id,
                service_id=service_id,
                preferred_staff_id=preferred_staff_id,
                options=tuple(o.fact() for o in checked),
                timezone=request.timezone,
                occurred_at=now,
            )
        )
        return request

    @property
    def expires_at(self) -> datetime:
        """When the last preferred time passes: a pending request is expired from then on."""
        return max(o.latest_start for o in self.options)

    def has_passed(self, now: datetime) -> bool:
        return self.expires_at <= now

    def require_pending(self) -> None:
        if self.status is not Status.PENDING:
            raise FailedPrecondition(f"the request is already {self.status.value}", reason=NOT_PENDING)

    def approve(self, *, appointment_id: uuid.UUID, start: datetime, actor: str, now: datetime) -> None:
        self._move(Status.APPROVED, actor, now, {"appointment_id": str(appointment_id), "start": start.isoformat()})
        self.appointment_id = appointment_id
        self.events.append(
            events.RequestApproved(self.tenant_id, self.id, self.client_id, appointment_id, start, actor, now)
        )

    def decline(self, *, reason: str, actor: str, now: datetime) -> None:
        self.require_pending()
        text = check_text(reason, "reason", MAX_REASON_LENGTH, required=True)
        self._move(Status.DECLINED, actor, now, {"reason": text})
        self.decline_reason = text
        self.events.append(events.RequestDeclined(self.tenant_id, self.id, self.client_id, text, actor, now))

    def withdraw(self, *, actor: str, now: datetime) -> None:
        self._move(Status.WITHDRAWN, actor, now, {})
        self.events.append(events.RequestWithdrawn(self.tenant_id, self.id, self.client_id, now))

    def expire(self, now: datetime) -> None:
        if not self.has_passed(now):
            raise FailedPrecondition("a request expires only once every preferred time has passed", reason=NOT_PENDING)
        self._move(Status.EXPIRED, "system", now, {})
        self.events.append(events.RequestExpired(self.tenant_id, self.id, self.client_id, now))

    def _move(self, to: Status, actor: str, now: datetime, details: dict[str, Any]) -> None:
        self.require_pending()
        assert to in ALLOWED_TRANSITIONS[self.status]
        self.status = to
        self.decided_by = actor
        self.decided_at = now
        self.updated_at = now
        self.new_history.append(HistoryEntry(now, actor, to.value, details))
