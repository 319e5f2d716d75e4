"""Request and response bodies of appointment requests in the REST API (also their OpenAPI schemas).

Shapes and types are checked here; the rules (one to five options, in the future, within the horizon, a
window of at most 12 hours) are the portal-requests service's, whose field errors come back as 422.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field, StringConstraints

from gateway.schemas import Body, CustomValues, Out, Timezone

Id = Annotated[str, StringConstraints(min_length=1, max_length=40)]
Status = Literal["pending", "approved", "declined", "withdrawn", "expired"]


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


class TimeOptionOut(Out):
    start: datetime
    end: datetime | None
    local_start: str = Field(description="The start on the request's wall clock (its timezone)")
    local_end: str | None


class RequestHistoryOut(Out):
    at: datetime
    actor: str
    action: str
    details: dict[str, Any]


class RequestOut(Out):
    id: str
    client_id: str
    service_id: str
    preferred_staff_id: str | None
    options: list[TimeOptionOut]
    message: str
    timezone: str
    status: Status
    appointment_id: str | None
    decline_reason: str
    decided_by: str | None
    decided_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime
    history: list[RequestHistoryOut] | None = Field(default=None, description="On the single-request read only")


class RequestList(Out):
    items: list[RequestOut]
    next_page_token: str | None = None


class PortalRequestQuery(Body):
    status: Status | None = None
    page_size: int = Field(default=50, ge=1, le=200)
    page_token: Annotated[str, StringConstraints(max_length=300)] = ""


class StaffRequestQuery(PortalRequestQuery):
    client_id: Id | None = None


class ApproveIn(Body):
    start: AwareDatetime = Field(description="One of the options' times, or any time staff pick")
    staff_id: Id | None = Field(default=None, description="Default: the preferred staff member, or anyone free")
    override_availability: bool = False


class DeclineIn(Body):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=1000)] = Field(
        description="Shown to the client; may propose other times"
    )
