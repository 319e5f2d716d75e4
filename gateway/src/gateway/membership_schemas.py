"""Request and response bodies of memberships and subscriptions in the REST API (also their OpenAPI schemas).

Shapes and types are checked here; the rules (a membership gives a package or benefits, a freeze of 1 to 365
days, which status allows what) are the billing service's, whose field errors come back as 422 naming the
field and whose refusals of a state as 409. Dates are days of the business's zone.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from gateway.credits_schemas import Id, LotOut
from gateway.schemas import Body, Out

Reason = Annotated[str, StringConstraints(max_length=500)]
Status = Literal["active", "frozen", "tolerance", "expired", "cancelled"]


class ExtraIn(Body):
    description: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    price_minor: int = Field(ge=0, le=10**13)


class MembershipIn(Body):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    package_id: Id | None = Field(default=None, description="The credits each period gives; none: benefits alone.")
    benefits: Annotated[str, StringConstraints(max_length=2000)] = ""
    duration_count: int = Field(ge=1, le=3660)
    duration_unit: Literal["day", "month"]
    price_minor: int = Field(ge=0, le=10**13, description="Per period; 0: no invoice.")
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{3}$")]
    tax_rate_bp: int = Field(default=0, ge=0, le=10_000)
    invoicing: Literal["auto", "draft"] = Field(
        default="auto", description="auto: registering and renewing issue the invoice; draft: staff issue it."
    )
    payment_terms_days: int = Field(default=0, ge=0, le=365)
    tolerance_days: int = Field(default=0, ge=0, le=365, description="Days after the expiry it still pays.")
    auto_renew: bool = Field(default=False, description="New subscriptions renew by themselves.")
    expiring_notice_days: int = Field(
        default=7, ge=0, le=90, description="How many days before the expiry MembershipExpiring is sent."
    )
    extras: list[ExtraIn] = Field(default_factory=list, max_length=10, description="Lines of the first invoice.")


class ExtraOut(Out):
    description: str
    price_minor: int


class MembershipOut(Out):
    id: str
    name: str
    package_id: str | None
    benefits: str
    duration_count: int
    duration_unit: Literal["day", "month"]
    price_minor: int
    currency: str
    tax_rate_bp: int
    invoicing: Literal["auto", "draft"]
    payment_terms_days: int
    tolerance_days: int
    auto_renew: bool
    expiring_notice_days: int
    extras: list[ExtraOut]
    created_at: datetime


class MembershipList(Out):
    items: list[MembershipOut]


class SubscribeIn(Body):
    membership_id: Id
    starts_on: date | None = Field(default=None, description="Today or later; default today.")


class PeriodOut(Out):
    starts_on: date
    expires_on: date
    invoice_id: str | None
    kind: Literal["register", "renew"]


class SubscriptionOut(Out):
    id: str
    client_id: str
    membership_id: str
    membership_name: str
    starts_on: date
    expires_on: date = Field(description="The last day it pays.")
    tolerance_until: date = Field(description="The last day of tolerance (the credits are usable through it).")
    status: Status
    currency: str
    price_minor: int
    invoice_id: str | None = Field(description="The latest period's invoice.")
    auto_renew: bool
    frozen_from: date | None
    frozen_until: date | None = Field(description="The day a freeze ends by itself.")
    freeze_reason: str
    cancel_reason: str
    periods: list[PeriodOut]
    credits: list[LotOut] = Field(description="What its periods gave and what is left of each, with its expiry.")
    created_at: datetime
    updated_at: datetime


class SubscriptionList(Out):
    items: list[SubscriptionOut]


class FreezeIn(Body):
    days: int | None = Field(default=None, ge=1, le=365, description="Frozen from today for this many days.")
    until: date | None = Field(default=None, description="Or: the day it resumes by itself.")
    reason: Reason = ""


class CancelIn(Body):
    reason: Reason = ""


class AutoRenewIn(Body):
    auto_renew: bool


class LoyaltyProgramIn(Body):
    points_credit_type_id: Id = Field(description="A credit type without a currency (e.g. unit point).")
    currency: Annotated[str, StringConstraints(pattern=r"^([A-Za-z]{3})?$")] = Field(
        default="", description="The currency of payments that earn points (required with step_minor)."
    )
    step_minor: int = Field(default=0, ge=0, le=10**13, description="Every whole step paid earns points_per_step.")
    points_per_step: int = Field(default=0, ge=0, le=1_000_000)
    points_per_visit: int = Field(default=0, ge=0, le=1_000_000, description="Points for each check-in.")
    validity_days: int | None = Field(default=None, ge=1, le=3660, description="None: points never expire.")
    reward_credit_type_id: Id | None = Field(default=None, description="What points buy; none: nothing.")
    points_per_reward_unit: int = Field(default=0, ge=0, le=1_000_000)


class LoyaltyProgramOut(Out):
    enabled: bool = Field(description="False when the business has no program (the other fields are empty).")
    points_credit_type_id: str | None
    currency: str
    step_minor: int
    points_per_step: int
    points_per_visit: int
    validity_days: int | None
    reward_credit_type_id: str | None
    points_per_reward_unit: int


class RedeemIn(Body):
    points: int = Field(ge=1, le=10**13, description="A multiple of the program's points_per_reward_unit.")
