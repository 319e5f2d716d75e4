"""Messages as state machines: what is planned, what an attempt's outcome does to it.

A message is one kind of notice to one recipient on one channel, planned from one source event by one
rule. It goes planned -> sending (leased by one replica) -> sent (the provider took it) -> delivered (the
provider confirmed it, or an in-app notice was stored) | failed (out of attempts, or the provider gave
up); or skipped (with a reason: no address, opted out) or cancelled. A failed attempt plans the next one
after a growing delay, until the message's attempts run out. An attempt whose replica stopped while
handing it over has an unknown outcome: its message is failed rather than sent again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    PLANNED = "planned"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


STATUSES = frozenset(s.value for s in Status)
CHANNELS = ("email", "sms", "in_app")
CATEGORIES = ("transactional", "reminders", "marketing")

# The transitions the schema's trigger allows too.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.PLANNED: frozenset({Status.SENDING, Status.CANCELLED, Status.SKIPPED}),
    Status.SENDING: frozenset(
        {Status.SENT, Status.DELIVERED, Status.PLANNED, Status.FAILED, Status.SKIPPED, Status.CANCELLED}
    ),
    Status.SENT: frozenset({Status.DELIVERED, Status.FAILED}),
    Status.FAILED: frozenset({Status.PLANNED}),
    Status.SKIPPED: frozenset({Status.PLANNED}),
    Status.DELIVERED: frozenset(),
    Status.CANCELLED: frozenset(),
}


def may_move(current: Status, to: Status) -> bool:
    return current == to or to in TRANSITIONS[current]


@dataclass(frozen=True)
class RetryPolicy:
    """Delays between attempts: base, 2 x base, 4 x base, ... capped."""

    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=1)

    def delay(self, attempts_made: int) -> timedelta:
        grown: timedelta = self.base * (2 ** max(attempts_made - 1, 0))
        return min(grown, self.cap)


@dataclass(frozen=True)
class Recipient:
    kind: str  # "client", "staff" or "address" (an address the event named, e.g. a password reset's)
    id: uuid.UUID
    address: str = ""


@dataclass(frozen=True)
class PlannedMessage:
    """A message to plan (inserted once per (source event, rule, recipient, channel))."""

    tenant_id: uuid.UUID
    kind: str
    category: str
    channel: str
    recipient: Recipient
    client_id: uuid.UUID | None
    rule: str
    source_event_id: uuid.UUID
    variables: dict[str, Any]
    due_at: datetime
    max_attempts: int
    # The appointment (or request) it is about.
    subject_id: uuid.UUID | None = None
    # After this many failed attempts the message goes by the fallback channel instead (SMS -> email).
    fallback_channel: str = ""
    fallback_after: int = 0
    id: uuid.UUID = field(default_factory=uuid.uuid4)


@dataclass(frozen=True)
class ClaimedMessage:
    """A message a replica leased for one attempt."""

    tenant_id: uuid.UUID
    id: uuid.UUID
    kind: str
    category: str
    channel: str
    recipient: Recipient
    client_id: uuid.UUID | None
    variables: dict[str, Any]
    attempt: int
    max_attempts: int
    fallback_channel: str = ""
    fallback_after: int = 0


@dataclass(frozen=True)
class Outcome:
    """What one attempt did to its message."""

    status: Status
    error: str = ""
    skip_reason: str = ""
    retry_at: datetime | None = None
    to_address: str = ""
    language: str = ""
    subject: str = ""
    # An in-app notice's (title, body), stored when it is delivered.
    notice: tuple[str, str] | None = None
    # The provider's id of what it accepted (matches its delivery reports).
    provider_id: str = ""
    # Failed on this channel: the same message is planned on its fallback channel.
    fall_back: bool = False

    @property
    def sent(self) -> bool:
        return self.status in (Status.SENT, Status.DELIVERED)

    @property
    def attempted(self) -> bool:
        """Whether anything was handed to a provider (a skip is not an attempt)."""
        return self.status != Status.SKIPPED


def after_success(
    *, to_address: str, language: str, subject: str, notice: tuple[str, str] | None = None, provider_id: str = ""
) -> Outcome:
    """Sent (the provider took it); an in-app notice is delivered at once (it is stored)."""
    status = Status.DELIVERED if notice is not None else Status.SENT
    return Outcome(
        status, to_address=to_address, language=language, subject=subject, notice=notice, provider_id=provider_id
    )


def after_failure(
    message: ClaimedMessage, error: str, *, now: datetime, policy: RetryPolicy, to_address: str = ""
) -> Outcome:
    """Planned again after the policy's delay, or failed for good once its attempts are used; a message
    with a fallback channel fails over to it after its fallback_after attempts."""
    if message.fallback_channel and message.attempt >= message.fallback_after:
        return Outcome(Status.FAILED, error=error, to_address=to_address, fall_back=True)
    if message.attempt >= message.max_attempts:
        return Outcome(Status.FAILED, error=error, to_address=to_address)
    return Outcome(Status.PLANNED, error=error, retry_at=now + policy.delay(message.attempt), to_address=to_address)


def skipped(reason: str) -> Outcome:
    return Outcome(Status.SKIPPED, skip_reason=reason)


_CHANNEL_NAMES = {"email": "Email", "sms": "SMS", "in_app": "In-app notice"}


def message_summary(channel: str, status: str, subject: str) -> str:
    """A message's line on the client's timeline, e.g. 'Email delivered: Your appointment is confirmed'."""
    line = f"{_CHANNEL_NAMES.get(channel, channel)} {status}"
    return f"{line}: {subject}" if subject else line
