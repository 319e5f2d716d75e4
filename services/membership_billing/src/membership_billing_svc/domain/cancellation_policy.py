"""The cancellation and no-show policy: what cancelling an appointment late, or not coming, costs.

A policy has windows before the start ("less than 24 hours before", "less than 2 days before"), each with an
outcome: free, forfeit a share of the credits the visit would take, or a fee (fixed, or a share of the
service's price). A cancellation falls in the tightest window whose deadline it is past; cancelling exactly
at a deadline is still on time. An hour window counts elapsed time; a day window keeps the appointment's
wall-clock time in its zone ("2 days before at 09:00", whatever DST did in between). A no-show has its own
outcome, and the business's rule may, for some days after N no-shows in D days, block online booking or make the
client's requests wait for staff approval.
The business has one rule; a service may override its windows and no-show outcome.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from membership_billing_svc.domain import events
from platform_core.money import MAX_AMOUNT_MINOR
from platform_core.validation import Violations

MAX_WINDOWS = 6
MAX_WITHIN_HOURS = 24 * 90
MAX_WITHIN_DAYS = 90
MAX_PERIOD_DAYS = 366


class OutcomeKind(enum.StrEnum):
    FREE = "free"
    FORFEIT = "forfeit"
    FEE = "fee"


class Reason(enum.StrEnum):
    """Why the policy was looked at (PolicyFeeCharged's ``reason`` for the two that may cost)."""

    EARLY_CANCELLATION = "early_cancellation"
    LATE_CANCELLATION = "late_cancellation"
    NO_SHOW = "no_show"


def share(value: int, percent: int) -> int:
    """``percent`` of ``value``, rounded half up (50 % of one session is one session)."""
    return int((Decimal(value) * percent / 100).to_integral_value(rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Outcome:
    kind: OutcomeKind
    # forfeit: share of the credits; fee: share of the price (None with a fixed fee).
    percent: int | None = None
    fee_minor: int | None = None
    currency: str | None = None

    @classmethod
    def checked(
        cls, kind: str, percent: int, fee_minor: int, currency: str, violations: Violations, where: str
    ) -> Outcome:
        try:
            outcome_kind = OutcomeKind(kind.strip() or "free")
        except ValueError:
            violations.add(f"{where}.kind", "must be free, forfeit or fee")
            return FREE
        if outcome_kind is OutcomeKind.FREE:
            if percent or fee_minor or currency.strip():
                violations.add(where, "a free outcome takes no percent, fee or currency")
            return FREE
        if outcome_kind is OutcomeKind.FORFEIT:
            if not 1 <= percent <= 100:
                violations.add(f"{where}.percent", "must be between 1 and 100 (the share of the credits)")
            if fee_minor or currency.strip():
                violations.add(where, "a forfeit takes a percent only")
            return cls(outcome_kind, percent=percent)
        if bool(percent) == bool(fee_minor):
            violations.add(where, "a fee is either a percent of the price or a fixed fee_minor with its currency")
            return cls(outcome_kind, percent=percent or None, fee_minor=fee_minor or None)
        if percent:
            if not 1 <= percent <= 100:
                violations.add(f"{where}.percent", "must be between 1 and 100 (the share of the price)")
            if currency.strip():
                violations.add(f"{where}.currency", "a percent fee is in the price's currency")
            return cls(outcome_kind, percent=percent)
        if not 1 <= fee_minor <= MAX_AMOUNT_MINOR:
            violations.add(f"{where}.fee_minor", f"must be between 1 and {MAX_AMOUNT_MINOR}")
        code = violations.currency(currency, f"{where}.currency")
        return cls(outcome_kind, fee_minor=fee_minor, currency=code)

    def fee_for(self, price_minor: int, price_currency: str) -> tuple[int, str] | None:
        """The fee this outcome charges for a visit at this price; None when it charges none."""
        if self.kind is not OutcomeKind.FEE:
            return None
        if self.fee_minor is not None and self.currency is not None:
            return self.fee_minor, self.currency
        assert self.percent is not None
        amount = share(price_minor, self.percent)
        return (amount, price_currency) if amount > 0 and price_currency else None

    def forfeited_units(self, visit_units: int) -> int:
        """What this outcome keeps of the credits a visit takes."""
        if self.kind is not OutcomeKind.FORFEIT or self.percent is None:
            return 0
        return share(visit_units, self.percent)


FREE = Outcome(OutcomeKind.FREE)


@dataclass(frozen=True)
class Window:
    """A cancellation after ``deadline(start)`` falls in this window."""

    outcome: Outcome
    within_hours: int | None = None
    within_days: int | None = None

    def deadline(self, start: datetime, zone: ZoneInfo) -> datetime:
        if self.within_hours is not None:
            return start - timedelta(hours=self.within_hours)
        assert self.within_days is not None
        wall = start.astimezone(zone).replace(tzinfo=None) - timedelta(days=self.within_days)
        # Resolved in the zone: a wall-clock time DST skipped lands just after the gap.
        return wall.replace(tzinfo=zone).astimezone(UTC)


class RepeatOutcome(enum.StrEnum):
    """What tripping the repeat-offender rule does for ``block_days``."""

    BLOCK_ONLINE_BOOKING = "block_online_booking"
    # The client's online requests wait for staff approval, whatever would otherwise let them through.
    REQUIRE_APPROVAL = "require_approval"


@dataclass(frozen=True)
class RepeatNoShowRule:
    no_shows: int
    period_days: int
    block_days: int
    outcome: RepeatOutcome = RepeatOutcome.BLOCK_ONLINE_BOOKING

    def tripped(self, no_shows: int) -> bool:
        """Whether this many no-shows (the one being decided among them) within the period trip the rule."""
        return no_shows >= self.no_shows

    def since(self, starts_at: datetime) -> datetime:
        """The earliest start of a no-show that counts with one starting at ``starts_at``."""
        return starts_at - timedelta(days=self.period_days)

    def lasts_until(self, decided_at: datetime) -> datetime:
        """When the outcome lapses by itself: ``block_days`` of elapsed time after the no-show was recorded."""
        return decided_at + timedelta(days=self.block_days)


@dataclass(frozen=True)
class CancellationPolicy:
    tenant_id: uuid.UUID
    # None: the business's rule.
    service_id: uuid.UUID | None
    windows: tuple[Window, ...]
    no_show: Outcome
    repeat_no_shows: RepeatNoShowRule | None
    applies_to_staff_cancellations: bool
    updated_at: datetime

    @classmethod
    def checked(
        cls,
        tenant_id: uuid.UUID,
        service_id: uuid.UUID | None,
        *,
        windows: Sequence[tuple[int, int, Outcome]],
        no_show: Outcome,
        repeat_no_shows: tuple[int, int, int] | None,
        applies_to_staff_cancellations: bool,
        violations: Violations,
        now: datetime,
        repeat_outcome: str = "",
    ) -> CancellationPolicy:
        """``windows`` as (within_hours, within_days, outcome), 0 for the one not given. ``violations`` already
        holds what parsing the outcomes found; this raises everything at once."""
        if len(windows) > MAX_WINDOWS:
            violations.add("windows", f"at most {MAX_WINDOWS}")
        checked: list[Window] = []
        seen: set[tuple[int | None, int | None]] = set()
        for i, (hours, days, outcome) in enumerate(windows):
            where = f"windows[{i}]"
            if bool(hours) == bool(days):
                violations.add(where, "give exactly one of within_hours and within_days")
                continue
            if hours and not 1 <= hours <= MAX_WITHIN_HOURS:
                violations.add(f"{where}.within_hours", f"must be between 1 and {MAX_WITHIN_HOURS}")
            if days and not 1 <= days <= MAX_WITHIN_DAYS:
                violations.add(f"{where}.within_days", f"must be between 1 and {MAX_WITHIN_DAYS}")
            key = (hours or None, days or None)
            if key in seen:
                violations.add(where, "the same notice appears twice")
            seen.add(key)
            checked.append(Window(outcome, within_hours=hours or None, within_days=days or None))
        rule = None
        if repeat_no_shows is not None:
            if service_id is not None:
                violations.add("repeat_no_shows", "is the business's rule, not a service's")
            no_shows, period_days, block_days = repeat_no_shows
            if not 1 <= no_shows <= 100:
                violations.add("repeat_no_shows.no_shows", "must be between 1 and 100")
            if not 1 <= period_days <= MAX_PERIOD_DAYS:
                violations.add("repeat_no_shows.period_days", f"must be between 1 and {MAX_PERIOD_DAYS}")
            if not 1 <= block_days <= MAX_PERIOD_DAYS:
                violations.add("repeat_no_shows.block_days", f"must be between 1 and {MAX_PERIOD_DAYS}")
            try:
                tripped = RepeatOutcome(repeat_outcome.strip() or RepeatOutcome.BLOCK_ONLINE_BOOKING)
            except ValueError:
                violations.add("repeat_no_shows.outcome", "must be block_online_booking or require_approval")
                tripped = RepeatOutcome.BLOCK_ONLINE_BOOKING
            rule = RepeatNoShowRule(no_shows, period_days, block_days, tripped)
        elif repeat_outcome.strip():
            violations.add("repeat_no_shows.outcome", "is the outcome of a repeat_no_shows rule; give the rule")
        if applies_to_staff_cancellations and service_id is not None:
            violations.add("applies_to_staff_cancellations", "is the business's rule, not a service's")
        violations.raise_if_any()
        return cls(tenant_id, service_id, tuple(checked), no_show, rule, applies_to_staff_cancellations, updated_at=now)

    def window_at(self, start: datetime, zone: ZoneInfo, at: datetime) -> Window | None:
        """The tightest window a cancellation at ``at`` is past the deadline of (None: on time, free)."""
        late = [w for w in self.windows if at > w.deadline(start, zone)]
        return max(late, key=lambda w: w.deadline(start, zone)) if late else None

    def free_until(self, start: datetime, zone: ZoneInfo) -> datetime | None:
        """The last instant cancelling is free; None when no window charges anything."""
        charging = [w.deadline(start, zone) for w in self.windows if w.outcome.kind is not OutcomeKind.FREE]
        return min(charging) if charging else None


def applicable(business: CancellationPolicy | None, override: CancellationPolicy | None) -> CancellationPolicy | None:
    """A service's override replaces the business's windows and no-show outcome."""
    return override if override is not None else business


def applies_to(business: CancellationPolicy | None, cancelled_by: str) -> bool:
    """A cancellation by the client always falls under the policy; one by staff only if the business says."""
    return cancelled_by != "staff" or (business is not None and business.applies_to_staff_cancellations)


@dataclass(frozen=True)
class ServiceVisit:
    service_id: uuid.UUID
    service_name: str
    price_minor: int
    currency: str


@dataclass
class PolicyApplication:
    """The policy applied to one appointment, once: its reason and what it charged."""

    tenant_id: uuid.UUID
    appointment_id: uuid.UUID
    client_id: uuid.UUID
    reason: Reason
    starts_at: datetime
    decided_at: datetime
    invoice_ids: list[uuid.UUID] = field(default_factory=list)
    is_new: bool = False
    events: list[Any] = field(default_factory=list)

    def __hash__(self) -> int:
        return hash(self.appointment_id)

    def charged_fee(self, invoice_id: uuid.UUID, currency: str, amount_minor: int, now: datetime) -> None:
        self.invoice_ids.append(invoice_id)
        self.events.append(
            events.PolicyFeeCharged(
                tenant_id=self.tenant_id,
                appointment_id=self.appointment_id,
                client_id=self.client_id,
                reason=self.reason.value,
                outcome=OutcomeKind.FEE.value,
                invoice_id=invoice_id,
                currency=currency,
                amount_minor=amount_minor,
                credit_type_id=None,
                credits_forfeited=0,
                occurred_at=now,
            )
        )

    def requires_approval(self, until: datetime, reason: str, now: datetime) -> None:
        self.events.append(
            events.ClientRequestsNeedApproval(
                tenant_id=self.tenant_id,
                client_id=self.client_id,
                appointment_id=self.appointment_id,
                until=until,
                reason=reason,
                occurred_at=now,
            )
        )

    def forfeited(self, credit_type_id: uuid.UUID, units: int, now: datetime) -> None:
        self.events.append(
            events.PolicyFeeCharged(
                tenant_id=self.tenant_id,
                appointment_id=self.appointment_id,
                client_id=self.client_id,
                reason=self.reason.value,
                outcome=OutcomeKind.FORFEIT.value,
                invoice_id=None,
                currency="",
                amount_minor=0,
                credit_type_id=credit_type_id,
                credits_forfeited=units,
                occurred_at=now,
            )
        )


def zone_of(name: str, fallback: ZoneInfo) -> ZoneInfo:
    """The appointment's zone as named, or ``fallback`` (the business's) when none or an unknown one is named."""
    try:
        return ZoneInfo(name) if name else fallback
    except (ZoneInfoNotFoundError, ValueError):
        return fallback
