"""Memberships and the clients' subscriptions to them.

A membership is a package of credits (or benefits alone) for a duration, at a price, with tolerance days after
its expiry during which it still pays, and whether registering and renewing issue the invoice or leave a draft.
A subscription is one client's: its days are the business's (its zone), ``expires_on`` is the last day it pays
and ``tolerance_until`` the last day of tolerance. Its credits are lots valid until the midnight that ends the
tolerance; a freeze moves the expiry (and so those lots' expiries) later by exactly the frozen days, and an
early resume moves it back by the days not used.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from membership_billing_svc.domain import events
from membership_billing_svc.domain.events import SubscriptionFacts
from membership_billing_svc.domain.invoices import DraftTerms, Invoice, LineInput
from membership_billing_svc.domain.ledger import business_midnight
from membership_billing_svc.domain.packages import Invoicing
from platform_core.errors import FailedPrecondition
from platform_core.money import MAX_AMOUNT_MINOR
from platform_core.validation import Violations

MAX_EXTRAS = 10
MAX_TOLERANCE_DAYS = 365
MAX_FREEZE_DAYS = 365
MAX_NOTICE_DAYS = 90
MAX_DURATION = {"day": 3660, "month": 120}


class DurationUnit(enum.StrEnum):
    DAY = "day"
    MONTH = "month"


class SubscriptionStatus(enum.StrEnum):
    ACTIVE = "active"
    FROZEN = "frozen"
    # Past its expiry, within the tolerance days: it still pays.
    TOLERANCE = "tolerance"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Extra:
    """A line added to the registration invoice (a joining fee, a card)."""

    description: str
    price_minor: int


@dataclass
class Membership:
    tenant_id: uuid.UUID
    id: uuid.UUID
    name: str
    # The credits each period gives; None: benefits alone.
    package_id: uuid.UUID | None
    benefits: str
    duration_count: int
    duration_unit: DurationUnit
    price_minor: int
    currency: str
    tax_rate_bp: int
    invoicing: Invoicing
    payment_terms_days: int
    tolerance_days: int
    auto_renew: bool
    expiring_notice_days: int
    extras: tuple[Extra, ...]
    created_at: datetime
    is_new: bool = False
    events: list[Any] = field(default_factory=list)

    def __hash__(self) -> int:
        return hash(self.id)

    @classmethod
    def define(
        cls,
        tenant_id: uuid.UUID,
        membership_id: uuid.UUID,
        *,
        name: str,
        package_id: uuid.UUID | None,
        benefits: str,
        duration_count: int,
        duration_unit: str,
        price_minor: int,
        currency: str,
        tax_rate_bp: int,
        invoicing: str,
        payment_terms_days: int,
        tolerance_days: int,
        auto_renew: bool,
        expiring_notice_days: int,
        extras: list[Extra],
        now: datetime,
    ) -> Membership:
        violations = Violations()
        name = violations.text(name, "name", max_length=100, required=True)
        benefits = violations.text(benefits, "benefits", max_length=2000)
        if package_id is None and not benefits:
            violations.add("package_id", "a membership gives a package of credits, benefits, or both")
        code = violations.currency(currency, "currency")
        if duration_unit not in {u.value for u in DurationUnit}:
            violations.add("duration_unit", "must be day or month")
        elif not 1 <= duration_count <= MAX_DURATION[duration_unit]:
            violations.add("duration_count", f"must be between 1 and {MAX_DURATION[duration_unit]}")
        if not 0 <= price_minor <= MAX_AMOUNT_MINOR:
            violations.add("price_minor", f"must be between 0 and {MAX_AMOUNT_MINOR}")
        if not 0 <= tax_rate_bp <= 10_000:
            violations.add("tax_rate_bp", "must be between 0 and 10000")
        if invoicing not in {i.value for i in Invoicing}:
            violations.add("invoicing", "must be auto or draft")
        if not 0 <= payment_terms_days <= 365:
            violations.add("payment_terms_days", "must be between 0 and 365")
        if not 0 <= tolerance_days <= MAX_TOLERANCE_DAYS:
            violations.add("tolerance_days", f"must be between 0 and {MAX_TOLERANCE_DAYS}")
        if not 0 <= expiring_notice_days <= MAX_NOTICE_DAYS:
            violations.add("expiring_notice_days", f"must be between 0 and {MAX_NOTICE_DAYS}")
        if len(extras) > MAX_EXTRAS:
            violations.add("extras", f"at most {MAX_EXTRAS}")
        checked_extras = []
        for i, extra in enumerate(extras):
            description = violations.text(extra.description, f"extras[{i}].description", max_length=200, required=True)
            if not 0 <= extra.price_minor <= MAX_AMOUNT_MINOR:
                violations.add(f"extras[{i}].price_minor", f"must be between 0 and {MAX_AMOUNT_MINOR}")
            checked_extras.append(Extra(description, extra.price_minor))
        violations.raise_if_any()
        return cls(
            tenant_id,
            membership_id,
            name,
            package_id,
            benefits,
            duration_count,
            DurationUnit(duration_unit),
            price_minor,
            code,
            tax_rate_bp,
            Invoicing(invoicing),
            payment_terms_days,
            tolerance_days,
            auto_renew,
            expiring_notice_days,
            tuple(checked_extras),
            now,
            is_new=True,
        )

    def last_day(self, first_day: date) -> date:
        """The last day a period starting on ``first_day`` pays: a month from 31 January ends on 27 February
        (the next period starts on the 28th, as a monthly calendar anchors it)."""
        if self.duration_unit is DurationUnit.MONTH:
            next_start: date = first_day + relativedelta(months=self.duration_count)
            return next_start - timedelta(days=1)
        return first_day + timedelta(days=self.duration_count - 1)

    def invoice_for(
        self, client_id: uuid.UUID, invoice_id: uuid.UUID, *, with_extras: bool, now: datetime
    ) -> Invoice | None:
        """The draft of a period's invoice (with the extras when registering); None when it costs nothing."""
        lines = [LineInput(self.name, "1", self.price_minor, self.tax_rate_bp)] if self.price_minor > 0 else []
        if with_extras:
            lines += [LineInput(e.description, "1", e.price_minor, self.tax_rate_bp) for e in self.extras]
        lines = [line for line in lines if line.unit_price_minor > 0]
        if not lines:
            return None
        terms = DraftTerms.checked(self.currency, lines, self.payment_terms_days, "")
        return Invoice.draft(self.tenant_id, invoice_id, client_id, terms, now)


@dataclass(frozen=True)
class Period:
    """What one registration or renewal paid for."""

    starts_on: date
    expires_on: date
    invoice_id: uuid.UUID | None
    kind: str  # "register" or "renew"
    request_id: str | None
    created_at: datetime


@dataclass
class Subscription:
    tenant_id: uuid.UUID
    id: uuid.UUID
    client_id: uuid.UUID
    membership_id: uuid.UUID
    membership_name: str
    starts_on: date
    expires_on: date
    tolerance_days: int
    status: SubscriptionStatus
    currency: str
    price_minor: int
    auto_renew: bool
    expiring_notice_days: int
    # The invoice of the latest period, if any.
    invoice_id: uuid.UUID | None
    # The current freeze: the first frozen day and the day it resumes by itself.
    frozen_from: date | None
    frozen_until: date | None
    freeze_reason: str
    # The expiry the expiring notice was sent for (once per expiry).
    notice_sent_for: date | None
    cancel_reason: str
    created_at: datetime
    updated_at: datetime
    request_id: str | None
    version: int = 0
    # The business's midnights of the resume day and of the calendar's next change (see ``schedule``).
    resumes_at: datetime | None = None
    next_review_at: datetime | None = None
    new_periods: list[Period] = field(default_factory=list)
    # Days the expiries of the subscription's unexpired lots move (a freeze positive, a resume negative).
    lot_shift_days: int = 0
    # Set by a cancellation: the subscription's credits not used end then.
    lots_end_at: datetime | None = None
    is_new: bool = False
    events: list[Any] = field(default_factory=list)

    def __hash__(self) -> int:
        return hash(self.id)

    @property
    def tolerance_until(self) -> date:
        return self.expires_on + timedelta(days=self.tolerance_days)

    @classmethod
    def register(
        cls,
        membership: Membership,
        subscription_id: uuid.UUID,
        client_id: uuid.UUID,
        *,
        starts_on: date,
        invoice_id: uuid.UUID | None,
        request_id: str | None,
        now: datetime,
    ) -> Subscription:
        subscription = cls(
            tenant_id=membership.tenant_id,
            id=subscription_id,
            client_id=client_id,
            membership_id=membership.id,
            membership_name=membership.name,
            starts_on=starts_on,
            expires_on=membership.last_day(starts_on),
            tolerance_days=membership.tolerance_days,
            status=SubscriptionStatus.ACTIVE,
            currency=membership.currency,
            price_minor=membership.price_minor,
            auto_renew=membership.auto_renew,
            expiring_notice_days=membership.expiring_notice_days,
            invoice_id=invoice_id,
            frozen_from=None,
            frozen_until=None,
            freeze_reason="",
            notice_sent_for=None,
            cancel_reason="",
            created_at=now,
            updated_at=now,
            request_id=request_id,
            is_new=True,
        )
        subscription.new_periods.append(
            Period(starts_on, subscription.expires_on, invoice_id, "register", request_id, now)
        )
        subscription._record(events.MembershipActivated, now)
        return subscription

    def facts(self) -> SubscriptionFacts:
        return SubscriptionFacts(
            subscription_id=self.id,
            client_id=self.client_id,
            membership_id=self.membership_id,
            membership_name=self.membership_name,
            starts_on=self.starts_on,
            expires_on=self.expires_on,
            tolerance_until=self.tolerance_until,
            status=self.status.value,
            currency=self.currency,
            price_minor=self.price_minor,
            invoice_id=self.invoice_id,
            auto_renew=self.auto_renew,
        )

    def _record(self, event_type: Any, now: datetime, **details: Any) -> None:
        self.events.append(event_type(tenant_id=self.tenant_id, subscription=self.facts(), occurred_at=now, **details))

    def _touch(self, now: datetime) -> None:
        self.updated_at = now

    def dated_status(self, today: date) -> SubscriptionStatus:
        """Active through the expiry, in tolerance through its last day, expired after (frozen and cancelled
        are decided by actions, not by the calendar)."""
        if today <= self.expires_on:
            return SubscriptionStatus.ACTIVE
        if today <= self.tolerance_until:
            return SubscriptionStatus.TOLERANCE
        return SubscriptionStatus.EXPIRED

    # --- actions ---------------------------------------------------------------------------------------

    def freeze(self, today: date, *, days: int | None, until: date | None, reason: str, now: datetime) -> int:
        """Frozen from today for ``days`` days, or until the day it resumes; the expiry (and every credit of
        the subscription not yet expired) moves later by exactly the frozen days. Returns them."""
        violations = Violations()
        reason = violations.text(reason, "reason", max_length=500)
        if (days is None) == (until is None):
            violations.add("days", "give the days to freeze or the day it resumes (until), one of them")
        frozen_days = days if days is not None else (until - today).days if until is not None else 0
        if not 1 <= frozen_days <= MAX_FREEZE_DAYS:
            violations.add("until" if until is not None else "days", f"freezes 1 to {MAX_FREEZE_DAYS} days from today")
        violations.raise_if_any()
        self.refresh(today, now)
        if self.status is not SubscriptionStatus.ACTIVE or today < self.starts_on:
            raise FailedPrecondition(
                f"only a running active subscription can be frozen (this one is {self.status.value})",
                reason="NOT_FREEZABLE",
            )
        self.frozen_from = today
        self.frozen_until = today + timedelta(days=frozen_days)
        self.freeze_reason = reason
        self.expires_on += timedelta(days=frozen_days)
        self.lot_shift_days += frozen_days
        self.status = SubscriptionStatus.FROZEN
        self._touch(now)
        self._record(
            events.MembershipFrozen,
            now,
            frozen_from=self.frozen_from,
            frozen_until=self.frozen_until,
            reason=reason,
        )
        return frozen_days

    def resume(self, today: date, now: datetime) -> int:
        """Ends the freeze today; the frozen days not used move the expiry back. Returns them."""
        if self.status is not SubscriptionStatus.FROZEN or self.frozen_until is None:
            raise FailedPrecondition("the subscription is not frozen", reason="NOT_FROZEN")
        unused = max((self.frozen_until - today).days, 0)
        self.expires_on -= timedelta(days=unused)
        self.lot_shift_days -= unused
        self.frozen_from = None
        self.frozen_until = None
        self.freeze_reason = ""
        self.status = self.dated_status(today)
        self._touch(now)
        self._record(events.MembershipResumed, now, unused_days=unused)
        return unused

    def renewal_start(self, today: date) -> date:
        """A renewal continues from the expiry; a lapsed one (past its tolerance) starts again today."""
        return today if today > self.tolerance_until else self.expires_on + timedelta(days=1)

    def renew(
        self,
        membership: Membership,
        today: date,
        *,
        invoice_id: uuid.UUID | None,
        request_id: str | None,
        now: datetime,
    ) -> Period:
        if self.status in (SubscriptionStatus.CANCELLED, SubscriptionStatus.FROZEN):
            raise FailedPrecondition(f"a {self.status.value} subscription cannot be renewed", reason="NOT_RENEWABLE")
        previous = self.expires_on
        first = self.renewal_start(today)
        if first > self.expires_on + timedelta(days=1):
            # Lapsed: the new period is a fresh start.
            self.starts_on = first
        period = Period(first, membership.last_day(first), invoice_id, "renew", request_id, now)
        self.expires_on = period.expires_on
        # A renewal takes the membership's current terms.
        self.tolerance_days = membership.tolerance_days
        self.price_minor = membership.price_minor
        self.membership_name = membership.name
        self.invoice_id = invoice_id
        self.new_periods.append(period)
        self.status = self.dated_status(today)
        self._touch(now)
        self._record(events.MembershipRenewed, now, previous_expires_on=previous)
        return period

    def cancel(self, reason: str, cancelled_by: str, now: datetime) -> None:
        violations = Violations()
        reason = violations.text(reason, "reason", max_length=500)
        violations.raise_if_any()
        if self.status in (SubscriptionStatus.CANCELLED, SubscriptionStatus.EXPIRED):
            raise FailedPrecondition(
                f"a {self.status.value} subscription cannot be cancelled", reason="NOT_CANCELLABLE"
            )
        self.status = SubscriptionStatus.CANCELLED
        self.cancel_reason = reason
        self.auto_renew = False
        self.frozen_from = None
        self.frozen_until = None
        self.lots_end_at = now
        self._touch(now)
        self._record(events.MembershipCancelled, now, reason=reason, cancelled_by=cancelled_by)

    def set_auto_renew(self, auto_renew: bool, now: datetime) -> None:
        if self.status in (SubscriptionStatus.CANCELLED, SubscriptionStatus.EXPIRED):
            raise FailedPrecondition(f"the subscription is {self.status.value}", reason="NOT_RENEWABLE")
        self.auto_renew = auto_renew
        self._touch(now)

    # --- the calendar ------------------------------------------------------------------------------------

    def wants_auto_renewal(self, today: date) -> bool:
        """Renewed by itself on the first day after its expiry, when it is set to."""
        return (
            self.auto_renew
            and self.status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.TOLERANCE)
            and today > self.expires_on
        )

    def refresh(self, today: date, now: datetime) -> None:
        """What the calendar decides by ``today``: a freeze that ran out resumes, the expiring notice goes
        once per expiry, the status follows the days (each change told once)."""
        if self.status is SubscriptionStatus.FROZEN and self.frozen_until is not None and today >= self.frozen_until:
            self.resume(today, now)
        if self.status in (SubscriptionStatus.CANCELLED, SubscriptionStatus.FROZEN):
            return
        days_left = (self.expires_on - today).days
        if (
            self.status is SubscriptionStatus.ACTIVE
            and 0 <= days_left <= self.expiring_notice_days
            and self.notice_sent_for != self.expires_on
            and not self.auto_renew
        ):
            self.notice_sent_for = self.expires_on
            self._touch(now)
            self._record(events.MembershipExpiring, now, days_left=days_left)
        dated = self.dated_status(today)
        if dated is not self.status:
            self.status = dated
            self._touch(now)
            if dated is SubscriptionStatus.EXPIRED:
                self._record(events.MembershipExpired, now)

    def schedule(self, zone: ZoneInfo) -> None:
        """Places the subscription's dates on the business's clock, after any change."""
        self.resumes_at = business_midnight(self.frozen_until, zone) if self.frozen_until is not None else None
        self.next_review_at = self.next_review(zone)

    def next_review(self, zone: ZoneInfo) -> datetime | None:
        """The next midnight at which the calendar changes something (None when nothing ever will)."""
        if self.status in (SubscriptionStatus.CANCELLED, SubscriptionStatus.EXPIRED):
            return None
        if self.status is SubscriptionStatus.FROZEN:
            assert self.frozen_until is not None
            return business_midnight(self.frozen_until, zone)
        days: list[date] = []
        notice_day = self.expires_on - timedelta(days=self.expiring_notice_days)
        if self.status is SubscriptionStatus.ACTIVE and self.notice_sent_for != self.expires_on and not self.auto_renew:
            days.append(notice_day)
        day_after_expiry = self.expires_on + timedelta(days=1)
        if self.status is SubscriptionStatus.ACTIVE or self.auto_renew:
            # For an automatic renewal, again at every sweep until it is made.
            days.append(day_after_expiry)
        days.append(self.tolerance_until + timedelta(days=1))
        return business_midnight(min(days), zone)
