"""Request and response bodies of the cancellation and no-show policy in the REST API (also its OpenAPI
schemas). Shapes are checked here; the policy's rules (one notice per window, an outcome's shape, the
repeat-offender rule on the business's rule only) are the billing service's, whose field errors come back as
422 naming the field."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, StringConstraints

from gateway.schemas import Body, MoneyOut, Out

OutcomeKind = Literal["free", "forfeit", "fee"]


class OutcomeIn(Body):
    kind: OutcomeKind = "free"
    percent: int = Field(
        default=0, ge=0, le=100, description="forfeit: the share of the visit's credits; fee: the share of the price."
    )
    fee_minor: int = Field(default=0, ge=0, le=10**13, description="fee: a fixed amount (instead of a percent).")
    currency: Annotated[str, StringConstraints(pattern=r"^([A-Za-z]{3})?$")] = Field(
        default="", description="ISO 4217, with a fixed fee."
    )


class WindowIn(Body):
    within_hours: int = Field(default=0, ge=0, le=2160, description="A cancellation later than this many hours.")
    within_days: int = Field(
        default=0,
        ge=0,
        le=90,
        description="Or: later than the appointment's wall-clock time this many days before, in its zone.",
    )
    outcome: OutcomeIn


RepeatOutcome = Literal["block_online_booking", "require_approval"]


class RepeatNoShowsIn(Body):
    no_shows: int = Field(ge=1, le=100)
    period_days: int = Field(ge=1, le=366)
    block_days: int = Field(
        ge=1, le=366, description="The outcome lasts this long (elapsed days), then lapses by itself."
    )
    outcome: RepeatOutcome = Field(
        default="block_online_booking",
        description="block_online_booking: the client cannot book or ask online; require_approval: the client's"
        " online requests wait for staff approval, and the portal says so.",
    )


class ServicePolicyIn(Body):
    windows: list[WindowIn] = Field(default_factory=list, max_length=6)
    no_show: OutcomeIn = Field(default_factory=OutcomeIn)


class BusinessPolicyIn(ServicePolicyIn):
    repeat_no_shows: RepeatNoShowsIn | None = None
    applies_to_staff_cancellations: bool = Field(
        default=False, description="Also charge cancellations staff make (otherwise only the client's own)."
    )


class OutcomeOut(Out):
    kind: OutcomeKind
    percent: int | None
    fee: MoneyOut | None


class WindowOut(Out):
    within_hours: int | None
    within_days: int | None
    outcome: OutcomeOut


class RepeatNoShowsOut(Out):
    no_shows: int
    period_days: int
    block_days: int
    outcome: RepeatOutcome


class PolicyOut(Out):
    service_id: str | None = Field(description="Null: the business's rule.")
    windows: list[WindowOut]
    no_show: OutcomeOut
    repeat_no_shows: RepeatNoShowsOut | None
    applies_to_staff_cancellations: bool
    updated_at: datetime


class PoliciesOut(Out):
    business: PolicyOut | None = Field(description="Null: no rule, cancelling and no-shows are free.")
    services: list[PolicyOut]


class ForfeitOut(Out):
    credit_type_id: str
    units: int


class CostOut(Out):
    outcome: OutcomeOut
    fee: MoneyOut | None = Field(description="The fee that would be invoiced.")
    forfeit: ForfeitOut | None = Field(description="The credits that would be kept, of those that would pay now.")


class ServiceTermsOut(Out):
    service_id: str
    policy: PolicyOut | None = Field(description="The rule that applies: the service's override, else the business's.")
    window: WindowOut | None = Field(description="The window a cancellation now falls in; null: on time, free.")
    cancel_now: CostOut
    no_show: CostOut
    free_until: datetime | None = Field(description="Cancelling is free until this instant; null: always.")


class CancellationTermsOut(Out):
    at: datetime
    free_until: datetime | None
    services: list[ServiceTermsOut]


class TermsQuery(Body):
    by: Literal["client", "staff"] = Field(default="client", description="Who would cancel.")


class BookingTermsQuery(Body):
    service_id: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    start: AwareDatetime = Field(description="The start of the booking about to be confirmed.")
