"""Bodies of the public booking page's API (no login) and of its setting (also their OpenAPI schemas)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from gateway.account_schemas import LanguageTag
from gateway.routes.custom_fields import FieldType
from gateway.schemas import AccountEmail, Body, CalendarDay, CustomValues, Instant, Out, Timezone

Id = Annotated[str, StringConstraints(min_length=1, max_length=40)]
PageSlug = Annotated[
    str,
    StringConstraints(min_length=1, max_length=63, pattern=r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"),
]


class PublicBookingSettingsIn(Body):
    enabled: bool = Field(description="Whether the page and its API answer; off: they answer 404")
    slug: PageSlug = Field(description="The page's address: /book/<slug> (lower-case letters, digits, hyphens)")


class PublicBookingSettingsOut(Out):
    enabled: bool
    slug: str | None = Field(description="Null until the page was set up")
    url: str | None = Field(description="The page's public address")


class PublicBusinessOut(Out):
    name: str
    slug: str
    timezone: str = Field(description="The business's IANA zone")
    language: str = Field(description="The business's language (BCP 47)")
    languages: list[str] = Field(description="Languages the page's emails can be sent in, the business's first")


class PublicStaffOut(Out):
    id: str
    name: str


class PublicServiceOut(Out):
    id: str
    name: str
    description: str
    duration_minutes: int
    price_minor: int = Field(description="Integer minor units of `currency`")
    currency: str
    staff: list[PublicStaffOut] = Field(description="Who performs it (a visitor may prefer one)")


class PublicServiceList(Out):
    items: list[PublicServiceOut]


class PublicFormFieldOut(Out):
    key: str = Field(description="The answer's key in the request's `answers`")
    label: str
    type: FieldType
    options: list[str] = Field(description="Choices of single_choice and multiple_choice fields, in order")
    required: bool = Field(description="The request is refused (422 naming answers.<key>) without an answer")


class PublicFormOut(Out):
    fields: list[PublicFormFieldOut] = Field(description="The business's booking request form, in order")


class PublicAvailabilityQuery(Body):
    service_id: Id
    from_day: CalendarDay = Field(alias="from")
    to_day: CalendarDay = Field(alias="to")
    staff_id: Id | None = Field(default=None, description="Only this staff member's times")
    timezone: Timezone | None = Field(default=None, description="The visitor's zone; default: the business's")


class PublicSlotOut(Out):
    start: datetime
    local_start: str = Field(description="The start on the visitor's wall clock, ISO 8601 with offset")
    staff_ids: list[str]


class PublicAvailabilityOut(Out):
    timezone: str
    slots: list[PublicSlotOut]


class PublicRequestIn(Body):
    service_id: Id
    start: Instant = Field(description="One of the free times the availability lists")
    preferred_staff_id: Id | None = Field(
        default=None, description="A staff member the visitor prefers, who performs the service"
    )
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    email: AccountEmail = Field(description="The code is sent here; the request is made for this address's client")
    phone: Annotated[str, StringConstraints(max_length=40)] = Field(
        default="", description="Any format; national numbers in the business's country"
    )
    description: Annotated[str, StringConstraints(max_length=1000)] = ""
    timezone: Timezone | None = Field(default=None, description="The visitor's zone; default: the business's")
    language: LanguageTag | None = Field(
        default=None,
        description="The email's language: one of the page's `languages` (de-AT gets de); any other, or none, "
        "gets the business's",
    )
    answers: CustomValues = Field(
        default_factory=dict,
        description="Answers to the booking request form (`.../form`) by field key: checked before the code is "
        "sent (422 naming answers.<key>: a required one missing, a value its field refuses) and stored on the "
        "visitor's client record once the code is confirmed",
    )


class PublicRequestStartedOut(Out):
    verification_id: str = Field(description="Confirm with the emailed code at .../requests/{verification_id}/confirm")
    email: str
    expires_at: datetime = Field(description="When the code stops working")


class PublicConfirmIn(Body):
    code: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")] = Field(description="The six digits emailed")


class PublicRequestConfirmedOut(Out):
    reference: str = Field(description="E.g. REQ-1042: the business finds the request by it")
    status: str = Field(description="pending: the business answers by email")
    service_name: str
    duration_minutes: int
    start: datetime
    local_start: str = Field(description="The start on the visitor's wall clock")
    timezone: str
