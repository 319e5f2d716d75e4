"""Request and response bodies of the scheduling part of the REST API (also its OpenAPI schemas).

Shapes and types are checked here; business rules (hours that end after they start, durations, a
currency code...) are the scheduling service's, whose field errors come back as 422 naming the field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from gateway.schemas import Body, CalendarDay, Instant, MoneyIn, MoneyOut, Out, Timezone

Text100 = Annotated[str, StringConstraints(max_length=100)]
Id = Annotated[str, StringConstraints(min_length=1, max_length=40)]
Clock = Annotated[str, StringConstraints(pattern=r"^\d{2}:\d{2}$")]


class TimeRangeIO(Body):
    start: Clock = Field(description="HH:MM, local wall-clock time")
    end: Clock = Field(description="HH:MM; 24:00 is midnight at the end of the day")


class DayHoursIO(Body):
    weekday: int = Field(ge=0, le=6, description="0 = Monday ... 6 = Sunday")
    ranges: list[TimeRangeIO] = Field(max_length=12)


class SlotRulesIO(Body):
    granularity_minutes: int = Field(ge=1, le=1440)
    min_notice_minutes: int = Field(ge=0, le=525_600)
    horizon_days: int = Field(ge=1, le=3650)


class SchedulingSettingsIO(Body):
    timezone: Timezone
    slot_rules: SlotRulesIO
    business_hours: list[DayHoursIO] = Field(default_factory=list, max_length=7)
    cancellation_notice_minutes: int = Field(default=0, ge=0, le=525_600)
    max_active_bookings_per_client: int = Field(default=0, ge=0, le=10_000)
    follow_up_actions: list[Annotated[str, StringConstraints(max_length=40)]] = Field(
        default_factory=list, max_length=50
    )
    version: int = Field(default=0, ge=0, description="The version read; 0 before the first save.")


class ServiceIn(Body):
    name: Text100
    description: Annotated[str, StringConstraints(max_length=2000)] = ""
    duration_minutes: int = Field(ge=1, le=1440)
    buffer_before_minutes: int = Field(default=0, ge=0, le=1440)
    buffer_after_minutes: int = Field(default=0, ge=0, le=1440)
    price: MoneyIn
    capacity: int = Field(default=1, ge=1, le=1000, description="1: one-to-one; more: a group session with seats")
    bookable_online: bool = True
    staff_ids: list[Id] = Field(default_factory=list, max_length=200)
    resource_ids: list[Id] = Field(default_factory=list, max_length=20)
    category: Annotated[str, StringConstraints(max_length=60)] = ""
    colour: Annotated[str, StringConstraints(max_length=7)] = ""
    slot_rules: SlotRulesIO | None = Field(default=None, description="Overrides of the business's slot rules")


class ServiceUpdate(ServiceIn):
    version: int = Field(ge=1)


class ServiceOut(Out):
    id: str
    name: str
    description: str
    duration_minutes: int
    buffer_before_minutes: int
    buffer_after_minutes: int
    price: MoneyOut
    capacity: int
    bookable_online: bool
    staff_ids: list[str]
    resource_ids: list[str]
    category: str
    colour: str
    slot_rules: SlotRulesIO | None
    archived: bool
    version: int


class ServiceList(Out):
    items: list[ServiceOut]


class ServiceListQuery(Body):
    include_archived: bool = False


class StaffScheduleIn(Body):
    display_name: Text100 = ""
    timezone: Timezone
    weekly_hours: list[DayHoursIO] = Field(max_length=7)
    active: bool = True
    version: int = Field(default=0, ge=0, description="The version read; 0 to create the schedule.")


class StaffScheduleOut(Out):
    staff_id: str
    display_name: str
    timezone: str
    weekly_hours: list[DayHoursIO]
    service_ids: list[str]
    active: bool
    version: int


class StaffScheduleList(Out):
    items: list[StaffScheduleOut]


class ScheduleExceptionIn(Body):
    staff_id: Id | None = Field(default=None, description="Absent: the whole business (a holiday).")
    day: CalendarDay
    available: bool = Field(description="false: time off (the ranges, or the whole day); true: extra hours")
    ranges: list[TimeRangeIO] = Field(default_factory=list, max_length=12)
    label: Text100 = ""


class ScheduleExceptionOut(Out):
    id: str
    staff_id: str | None
    day: CalendarDay
    available: bool
    ranges: list[TimeRangeIO]
    label: str


class ScheduleExceptionList(Out):
    items: list[ScheduleExceptionOut]


class ScheduleExceptionQuery(Body):
    staff_id: Id | None = None
    business: bool = False
    from_day: CalendarDay | None = Field(default=None, alias="from")
    to_day: CalendarDay | None = Field(default=None, alias="to")


class ResourceIn(Body):
    name: Text100
    kind: Literal["room", "equipment"] = "room"
    capacity: int = Field(default=1, ge=1, le=999)


class ResourceUpdate(ResourceIn):
    archived: bool = False


class ResourceOut(Out):
    id: str
    name: str
    kind: str
    capacity: int
    archived: bool


class ResourceList(Out):
    items: list[ResourceOut]


def csv_list(raw: str) -> list[str]:
    return [part for part in (p.strip() for p in raw.split(",")) if part]


class AvailabilityQuery(Body):
    service_ids: Annotated[str, StringConstraints(min_length=1, max_length=300)] = Field(
        description="Comma-separated; several services are booked back to back in this order."
    )
    from_day: CalendarDay = Field(alias="from")
    to_day: CalendarDay = Field(alias="to")
    staff_ids: Annotated[str, StringConstraints(max_length=2000)] = ""
    timezone: Timezone | None = Field(default=None, description="The viewer's zone; default: the business's.")
    seats: int = Field(default=1, ge=1, le=1000)

    def service_list(self) -> list[str]:
        return csv_list(self.service_ids)

    def staff_list(self) -> list[str]:
        return csv_list(self.staff_ids)


class SegmentOptionOut(Out):
    service_id: str
    staff_id: str
    start: datetime
    end: datetime


class SlotOut(Out):
    start: datetime
    local_start: str
    staff_ids: list[str]
    options: list[list[SegmentOptionOut]]
    seats_left: int | None


class AvailabilityOut(Out):
    timezone: str
    slots: list[SlotOut]


class SegmentIn(Body):
    service_id: Id
    staff_id: Id | None = Field(default=None, description="Absent: any qualified staff member free then.")


class AppointmentIn(Body):
    client_id: Id
    segments: list[SegmentIn] = Field(min_length=1, max_length=6)
    start: Instant
    override_availability: bool = Field(
        default=False, description="Book outside configured availability (flagged, audited; never double-books)."
    )
    notes: Annotated[str, StringConstraints(max_length=4000)] = ""
    seats: int = Field(default=1, ge=1, le=1000)
    follow_up_of: Id | None = None
    follow_up_action: Annotated[str, StringConstraints(max_length=40)] = ""
    timezone: Timezone | None = None


class SegmentOut(Out):
    position: int
    service_id: str
    service_name: str
    staff_id: str
    start: datetime
    end: datetime
    seats: int
    price: MoneyOut


class AppointmentOut(Out):
    id: str
    client_id: str
    status: str
    start: datetime
    end: datetime
    timezone: str
    segments: list[SegmentOut]
    notes: str
    source: str
    availability_overridden: bool
    cancellation_reason: str
    cancelled_by: str | None
    series_id: str | None
    follow_up_of: str | None
    follow_up_action: str
    version: int
    created_at: datetime
    updated_at: datetime
    staff_notes: str | None = Field(default=None, description="For the team only; absent in the portal")
    ticket: str | None = Field(default=None, description="A help-desk ticket id; absent in the portal")


class AppointmentList(Out):
    items: list[AppointmentOut]
    next_page_token: str | None = None


class AppointmentWindowQuery(Body):
    from_time: Instant = Field(alias="from")
    to_time: Instant = Field(alias="to")
    staff_ids: Annotated[str, StringConstraints(max_length=2000)] = ""
    statuses: Annotated[str, StringConstraints(max_length=100)] = ""


class CalendarQuery(Body):
    view: Literal["day", "week"] = "week"
    on: CalendarDay = Field(description="A day of the period to show (a week starts on Monday).")
    staff_ids: Annotated[str, StringConstraints(max_length=2000)] = ""
    timezone: Timezone | None = None


class TentativeHoldOut(Out):
    """A time a pending appointment request holds (the business's tentative holds): not yet an appointment."""

    request_id: str = Field(description="The appointment request holding it")
    label: str = Field(description="The request's reference, e.g. REQ-1042")
    client_id: str
    service_id: str
    start: datetime
    end: datetime
    tentative: bool = Field(description="Always true")


class CalendarStaffOut(Out):
    staff_id: str
    display_name: str
    appointments: list[AppointmentOut]
    tentative: list[TentativeHoldOut] = Field(
        description="Times pending requests hold for this staff member (shown as tentative)"
    )


class CalendarOut(Out):
    view: str
    timezone: str
    start: datetime
    end: datetime
    staff: list[CalendarStaffOut]


class RescheduleIn(Body):
    start: Instant
    version: int = Field(ge=1)
    override_availability: bool = False


class ReassignIn(Body):
    position: int = Field(default=0, ge=0, le=5)
    staff_id: Id
    version: int = Field(ge=1)
    override_availability: bool = False


class CancelIn(Body):
    reason: Annotated[str, StringConstraints(max_length=500)] = ""
    version: int = Field(default=0, ge=0)


class TransitionIn(Body):
    version: int = Field(ge=1)


class HistoryEntryOut(Out):
    at: datetime
    actor: str
    action: str
    changes: dict[str, list[object]]


class HistoryOut(Out):
    entries: list[HistoryEntryOut]


class ClientAppointmentsQuery(Body):
    view: Literal["", "upcoming", "past", "cancelled", "no_show"] = ""
    page_size: int = Field(default=50, ge=1, le=200)
    page_token: Annotated[str, StringConstraints(max_length=300)] = ""


class PortalCancelIn(Body):
    reason: Annotated[str, StringConstraints(max_length=500)] = ""


class PortalAvailabilityQuery(AvailabilityQuery):
    pass
