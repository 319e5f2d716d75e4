"""Request and response bodies of appointment requests in the REST API (also their OpenAPI schemas).

Shapes and types are checked here; the rules (one to five options, in the future, within the horizon, a
window of at most 12 hours) are the portal-requests service's, whose field errors come back as 422.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field, StringConstraints

from gateway.schemas import Body, CustomValues, Out, Timezone

Id = Annotated[str, StringConstraints(min_length=1, max_length=40)]
Status = Literal["pending", "proposed", "approved", "declined", "cancelled", "expired"]


class TimeOptionIn(Body):
    start: AwareDatetime = Field(description="An exact start, or the start of a window (ISO 8601 with offset)")
    end: AwareDatetime | None = Field(default=None, description="The end of a window the appointment may start in")


class RequestSubmitIn(Body):
    service_id: Id
    preferred_staff_id: Id | None = None
    options: list[TimeOptionIn] = Field(min_length=1, max_length=5, description="One to five preferred times")
    message: Annotated[str, StringConstraints(max_length=1000)] = ""
    timezone: Timezone | None = Field(default=None, description="The client's timezone; default: its profile's")
    answers: CustomValues = Field(
        default_factory=dict,
        description="Answers to the booking request form (GET /api/v1/portal/custom-fields?form=booking_request),"
        " by field key; stored on the client record. A required field must be answered unless the client has it.",
    )


class StaffRequestSubmitIn(Body):
    client_id: Id = Field(description="The client the request is made for")
    service_id: Id = Field(description="Any service of the business, also one clients cannot book online")
    preferred_staff_id: Id | None = None
    options: list[TimeOptionIn] = Field(min_length=1, max_length=5, description="One to five preferred times")
    message: Annotated[str, StringConstraints(max_length=1000)] = Field(default="", description="The description")
    timezone: Timezone | None = Field(default=None, description="The client's timezone; default: its profile's")
    override_booking_rules: bool = Field(
        default=False,
        description="Make it although the client is blocked from online booking or at its active bookings limit "
        "(kept in the request's history)",
    )


class TimeOptionOut(Out):
    start: datetime
    end: datetime | None
    local_start: str = Field(description="The start on the client's wall clock (the request's timezone)")
    local_end: str | None
    business_start: str = Field(description="The start on the business's wall clock")
    business_end: str | None


class RequestEditIn(Body):
    version: int = Field(ge=1, description="The version of the request you read; changed since: 409")
    service_id: Id | None = Field(default=None, description="Omitted: unchanged")
    preferred_staff_id: Id | None = Field(default=None, description="Omitted: unchanged; null: anyone")
    options: list[TimeOptionIn] | None = Field(
        default=None, min_length=1, max_length=5, description="Omitted: unchanged; else one to five preferred times"
    )
    message: Annotated[str, StringConstraints(max_length=1000)] | None = Field(
        default=None, description="The description; omitted: unchanged"
    )


class RequestHistoryOut(Out):
    at: datetime
    actor: str
    action: str
    details: dict[str, Any]


class FinalTimeOut(Out):
    start: datetime
    end: datetime
    local_start: str = Field(description="On the client's wall clock")
    business_start: str = Field(description="On the business's wall clock")


class HeldTimeOut(Out):
    staff_id: str
    start: datetime
    end: datetime
    local_start: str = Field(description="On the client's wall clock")
    business_start: str = Field(description="On the business's wall clock")


class ProposedTimeOut(Out):
    start: datetime
    local_start: str = Field(description="On the client's wall clock")
    business_start: str = Field(description="On the business's wall clock")


class ProposalOut(Out):
    alternatives: list[ProposedTimeOut] = Field(description="Accept one by its position (0, 1, 2)")
    hold_until: datetime
    note: str
    technician_id: str | None
    technician_name: str


class PortalRequestOut(Out):
    """What the client sees of its request: never the internal notes or the ticket."""

    id: str
    reference: str = Field(description="Unique within the business, e.g. REQ-1042")
    client_id: str
    client_name: str
    client_email: str
    client_phone: str
    service_id: str
    service_name: str
    duration_minutes: int
    preferred_staff_id: str | None
    preferred_staff_name: str
    options: list[TimeOptionOut] = Field(description="The preferred times, in the client's order of preference")
    requested: TimeOptionOut = Field(description="The first preferred time")
    message: str = Field(description="The client's description")
    timezone: str = Field(description="The client's zone")
    business_timezone: str
    status: Status
    appointment_id: str | None
    technician_id: str | None
    technician_name: str
    final: FinalTimeOut | None = Field(description="Approved: the appointment's time")
    hold: HeldTimeOut | None = Field(
        description="Pending, with the business's tentative holds: the time held for it (its first preferred time)"
    )
    proposal: ProposalOut | None = Field(description="The other times staff proposed (status proposed, or since)")
    decline_reason: str
    cancelled_by: Literal["client", "staff"] | None
    decided_by: str | None
    decided_at: datetime | None
    channel: str
    held_for_approval: bool = Field(
        description="Made while the business confirmed this client's requests itself (its repeated no-show rule):"
        " staff approve it before anything is booked, and the client cannot take waitlist offers meanwhile"
    )
    version: int
    created_at: datetime
    updated_at: datetime
    history: list[RequestHistoryOut] | None = Field(default=None, description="On the single-request read only")


class RequestOut(PortalRequestOut):
    """What staff see: also the team's internal notes and the linked ticket."""

    internal_notes: str
    ticket: str
    ticket_url: str | None = Field(description="The ticket as a link (the business's ticket URL pattern)")


class RequestList(Out):
    items: list[RequestOut]
    next_page_token: str | None = None


class PortalRequestList(Out):
    items: list[PortalRequestOut]
    next_page_token: str | None = None


class PortalRequestQuery(Body):
    status: Status | None = None
    page_size: int = Field(default=50, ge=1, le=200)
    page_token: Annotated[str, StringConstraints(max_length=300)] = ""


class StaffRequestQuery(PortalRequestQuery):
    client_id: Id | None = None
    q: Annotated[str, StringConstraints(max_length=100)] = Field(
        default="", description="A reference (REQ-1042 or 1042) or the start of words of the client's name"
    )


class RequestCountsOut(Out):
    pending: int
    proposed: int
    approved: int
    declined: int
    cancelled: int
    expired: int
    total: int


class RequestSettingsIO(Body):
    ticket_url_pattern: Annotated[str, StringConstraints(max_length=500)] = Field(
        default="", description="How a ticket id becomes a link, e.g. https://desk.example.com/tickets/{id}"
    )
    proposal_hold_minutes: int = Field(
        default=2880, ge=15, le=20160, description="How long proposed times hold for the client (default two days)"
    )
    offer_hold_minutes: int = Field(
        default=120, ge=5, le=2880, description="How long a waitlist offer holds before it passes on (default 2 h)"
    )
    tentative_holds: bool = Field(
        default=False,
        description="A pending request holds its first preferred time (an exact start) until it is decided or "
        "expires: other clients are not offered it, staff calendars show it as tentative, and approving another "
        "request into it answers 409",
    )
    version: int = Field(default=0, ge=0, description="The version read; 0 overwrites")


class ProposeIn(Body):
    alternatives: list[AwareDatetime] = Field(min_length=1, max_length=3, description="One to three other times")
    technician_id: Id | None = Field(default=None, description="Who performs them; default: anyone free")
    note: Annotated[str, StringConstraints(max_length=1000)] = Field(default="", description="Shown to the client")
    version: int = Field(default=0, ge=0, description="The version reviewed; edited since: 409. 0: any")


class AcceptIn(Body):
    alternative: int = Field(ge=0, le=2, description="The position of the proposed time taken")


class ApproveIn(Body):
    technician_id: Id = Field(description="Required: the staff member who performs it (one who performs the service)")
    start: AwareDatetime = Field(description="The final time: one of the options' times, or any time staff pick")
    internal_notes: Annotated[str, StringConstraints(max_length=4000)] = Field(
        default="", description="For the team only: never shown to the client"
    )
    ticket: Annotated[str, StringConstraints(max_length=100)] = Field(
        default="", description="A ticket id to link (shown through the ticket URL pattern)"
    )
    version: int = Field(default=0, ge=0, description="The version reviewed; edited since: 409. 0: any")
    override_availability: bool = False
    override_booking_rules: bool = Field(
        default=False,
        description="Book although the client is blocked from online booking or at its active bookings limit "
        "(kept in the request's history)",
    )


class DeclineIn(Body):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=1000)] = Field(
        description="Shown to the client; may propose other times"
    )


TimeOfDay = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
WaitlistStatus = Literal["waiting", "offered", "booked", "left"]


class WaitlistJoinIn(Body):
    service_id: Id
    staff_id: Id | None = Field(default=None, description="Default: anyone who performs the service")
    from_date: date = Field(description="The first day that suits (the client's zone)")
    to_date: date = Field(description="The last day that suits, at most 180 days after from_date")
    window_start: TimeOfDay | None = Field(default=None, description="HH:MM; with window_end, the hours that suit")
    window_end: TimeOfDay | None = None
    timezone: Timezone | None = Field(default=None, description="The client's zone; default: its profile's")


class StaffWaitlistJoinIn(WaitlistJoinIn):
    client_id: Id
    override_booking_rules: bool = Field(
        default=False,
        description="Put the client on although it is blocked from online booking (kept on the entry; accepting "
        "its offer books past the client's booking rules too)",
    )


class WaitlistOfferOut(Out):
    id: str
    staff_id: str
    start: datetime
    end: datetime
    local_start: str = Field(description="On the client's wall clock")
    hold_until: datetime
    status: Literal["open", "accepted", "expired"]
    appointment_id: str | None


class WaitlistEntryOut(Out):
    id: str
    client_id: str
    service_id: str
    service_name: str
    duration_minutes: int
    staff_id: str | None
    staff_name: str
    from_date: date
    to_date: date
    window_start: str | None
    window_end: str | None
    timezone: str
    status: WaitlistStatus
    joined_by: Literal["client", "staff"]
    booking_rules_overridden: bool = Field(description="Staff put the client on past its booking rules")
    created_at: datetime
    version: int
    offers: list[WaitlistOfferOut] = Field(description="Oldest first; at most one open")


class WaitlistList(Out):
    items: list[WaitlistEntryOut]


class PortalWaitlistQuery(Body):
    status: WaitlistStatus | None = None


class StaffWaitlistQuery(PortalWaitlistQuery):
    client_id: Id | None = None
