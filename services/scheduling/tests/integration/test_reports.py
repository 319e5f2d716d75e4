"""The appointment report over gRPC, against real PostgreSQL, with a fixed past week: counts by status,
service and staff member, rates, and utilization against working time within business hours.

Past appointments are booked by staff overriding availability (which also lets them sit outside working
hours, as real ones sometimes do), then completed, missed or cancelled as their start has passed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from atrium.client.v1 import client_service_pb2 as client_pb
from atrium.client.v1 import client_service_pb2_grpc as client_grpc
from atrium.common.v1 import types_pb2
from atrium.scheduling.v1 import appointments_pb2 as pb
from atrium.scheduling.v1 import appointments_pb2_grpc as pb_grpc
from atrium.scheduling.v1 import catalogue_pb2 as cat
from atrium.scheduling.v1 import catalogue_pb2_grpc as cat_grpc
from atrium.scheduling.v1 import reports_pb2 as rep
from atrium.scheduling.v1 import reports_pb2_grpc as rep_grpc
from platform_core.grpc.context import CallContext, Principal, bind_call_context
from platform_core.grpc.errors import from_rpc_error

BERLIN = ZoneInfo("Europe/Berlin")
ALL_WEEK_9_TO_17 = [cat.DayHours(weekday=d, ranges=[cat.TimeRange(start="09:00", end="17:00")]) for d in range(7)]
OPEN_9_TO_16 = [cat.DayHours(weekday=d, ranges=[cat.TimeRange(start="09:00", end="16:00")]) for d in range(7)]


def ts(value: datetime) -> Timestamp:
    t = Timestamp()
    t.FromDatetime(value)
    return t


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN)


@dataclass
class Salon:
    tenant: uuid.UUID
    anna: str
    ben: str
    services: dict[str, str]
    clients: list[str]
    first: date  # the report's week, in the past
    last: date

    def as_role(self, role: str) -> CallContext:
        return CallContext(self.tenant, Principal("staff", self.anna, role))


@pytest.fixture
def catalogue(scheduling_channel: grpc.aio.Channel) -> cat_grpc.CatalogueServiceStub:
    return cat_grpc.CatalogueServiceStub(scheduling_channel)


@pytest.fixture
def clients(client_channel: grpc.aio.Channel) -> client_grpc.ClientRecordsStub:
    return client_grpc.ClientRecordsStub(client_channel)


@pytest.fixture
def appointments(scheduling_channel: grpc.aio.Channel) -> pb_grpc.AppointmentServiceStub:
    return pb_grpc.AppointmentServiceStub(scheduling_channel)


@pytest.fixture
def reports(scheduling_channel: grpc.aio.Channel) -> rep_grpc.ReportServiceStub:
    return rep_grpc.ReportServiceStub(scheduling_channel)


async def open_salon(catalogue: cat_grpc.CatalogueServiceStub, clients: client_grpc.ClientRecordsStub) -> Salon:
    tenant = uuid.uuid4()
    anna, ben = str(uuid.uuid4()), str(uuid.uuid4())
    first = (datetime.now(BERLIN) - timedelta(days=20)).date()
    with bind_call_context(CallContext(tenant, Principal("staff", anna, "owner"))):
        await catalogue.UpdateSchedulingSettings(
            cat.SchedulingSettings(
                timezone="Europe/Berlin",
                slot_rules=cat.SlotRules(granularity_minutes=30, min_notice_minutes=0, horizon_days=60),
                business_hours=OPEN_9_TO_16,
            )
        )
        for staff_id, name in ((anna, "Anna"), (ben, "Ben")):
            await catalogue.PutStaffMember(
                cat.StaffMember(
                    staff_id=staff_id,
                    display_name=name,
                    timezone="Europe/Berlin",
                    weekly_hours=ALL_WEEK_9_TO_17,
                    active=True,
                )
            )
        await catalogue.AddScheduleException(
            cat.ScheduleException(staff_id=anna, day=(first + timedelta(days=2)).isoformat(), available=False)
        )
        services = {}
        for name, minutes, capacity in (("Haircut", 60, 1), ("Colour", 30, 1), ("Yoga", 60, 4)):
            created = await catalogue.CreateService(
                cat.ServiceInput(
                    name=name,
                    duration_minutes=minutes,
                    price=types_pb2.Money(amount_minor=4500, currency="EUR"),
                    capacity=capacity,
                    staff_ids=[anna, ben],
                )
            )
            services[name] = created.id
        client_ids = [
            (await clients.CreateClient(client_pb.CreateClientRequest(first_name=f"Client {i}"))).id for i in range(3)
        ]
    return Salon(tenant, anna, ben, services, client_ids, first, first + timedelta(days=6))


async def past(
    stub: pb_grpc.AppointmentServiceStub, salon: Salon, client: int, start: datetime, *segments: tuple[str, str]
) -> pb.Appointment:
    return await stub.BookAppointment(
        pb.BookAppointmentRequest(
            client_id=salon.clients[client],
            segments=[pb.SegmentRequest(service_id=salon.services[name], staff_id=staff) for name, staff in segments],
            start=ts(start),
            override_availability=True,
        )
    )


async def settle(stub: pb_grpc.AppointmentServiceStub, appointment: pb.Appointment, outcome: str) -> None:
    transition = pb.AppointmentTransitionRequest(appointment_id=appointment.id, version=appointment.version)
    if outcome == "completed":
        await stub.CompleteAppointment(transition)
    elif outcome == "no_show":
        await stub.MarkNoShow(transition)
    else:
        await stub.CancelAppointment(
            pb.CancelAppointmentRequest(appointment_id=appointment.id, reason="ill", version=appointment.version)
        )


def counts(row: rep.AppointmentCounts) -> tuple[int, int, int, int, int]:
    return row.total, row.booked, row.completed, row.cancelled, row.no_show


async def test_a_weeks_report_counts_rates_and_utilization(
    catalogue: cat_grpc.CatalogueServiceStub,
    appointments: pb_grpc.AppointmentServiceStub,
    reports: rep_grpc.ReportServiceStub,
    clients: client_grpc.ClientRecordsStub,
) -> None:
    salon = await open_salon(catalogue, clients)
    anna, ben, day = salon.anna, salon.ben, salon.first
    with bind_call_context(salon.as_role("owner")):
        settled = [
            (await past(appointments, salon, 0, local(day, 10), ("Haircut", anna)), "completed"),
            (await past(appointments, salon, 1, local(day, 12), ("Haircut", anna)), "no_show"),
            (await past(appointments, salon, 2, local(day + timedelta(1), 10), ("Haircut", anna)), "cancelled"),
            (
                await past(appointments, salon, 0, local(day + timedelta(1), 10), ("Haircut", ben), ("Colour", ben)),
                "completed",
            ),
            # A group session: two attendees, one hour of Anna's time.
            (await past(appointments, salon, 0, local(day + timedelta(3), 10), ("Yoga", anna)), "completed"),
            (await past(appointments, salon, 1, local(day + timedelta(3), 10), ("Yoga", anna)), "completed"),
            # The week is cut at midnight in Berlin (the business's zone): 00:30 is still 23:30 UTC the day before.
            (await past(appointments, salon, 2, local(day + timedelta(7), 0, 30), ("Haircut", anna)), "completed"),
        ]
        for appointment, outcome in settled:
            await settle(appointments, appointment, outcome)
        # Still booked: nobody marked them yet.
        await past(appointments, salon, 1, local(day + timedelta(4), 10), ("Haircut", ben), ("Colour", anna))
        await past(appointments, salon, 2, local(day, 0, 30), ("Haircut", ben))
        report = await reports.GetAppointmentReport(
            rep.AppointmentReportRequest(**{"from": salon.first.isoformat(), "to": salon.last.isoformat()})
        )

    assert (getattr(report, "from"), report.to, report.timezone) == (
        salon.first.isoformat(),
        salon.last.isoformat(),
        "Europe/Berlin",
    )
    assert counts(report.totals) == (8, 2, 4, 1, 1)
    assert report.totals.no_show_rate == pytest.approx(1 / 5)
    assert report.totals.cancellation_rate == pytest.approx(1 / 8)
    assert [(r.status, r.count, round(r.share, 3)) for r in report.by_status] == [
        ("booked", 2, 0.25),
        ("completed", 4, 0.5),
        ("cancelled", 1, 0.125),
        ("no_show", 1, 0.125),
    ]

    services = {r.service_name: r for r in report.by_service}
    assert [r.service_name for r in report.by_service] == ["Colour", "Haircut", "Yoga"]
    assert counts(services["Haircut"].counts) == (6, 2, 2, 1, 1)
    assert services["Haircut"].booked_minutes == 5 * 60  # the cancelled one takes no time
    assert counts(services["Colour"].counts) == (2, 1, 1, 0, 0) and services["Colour"].booked_minutes == 60
    assert counts(services["Yoga"].counts) == (2, 0, 2, 0, 0) and services["Yoga"].booked_minutes == 120
    assert (services["Yoga"].counts.no_show_rate, services["Yoga"].counts.cancellation_rate) == (0, 0)

    staff = {r.display_name: r for r in report.by_staff}
    assert [r.display_name for r in report.by_staff] == ["Anna", "Ben"]
    assert counts(staff["Anna"].counts) == (6, 1, 3, 1, 1)
    # 60 + 60 (the no-show took her time too) + 60 for the whole session + 30 of colour.
    assert staff["Anna"].booked_minutes == 210
    # Working 9-17 within business hours 9-16: 7 hours a day, six days (one day off).
    assert staff["Anna"].available_minutes == 6 * 7 * 60
    assert staff["Anna"].utilization == pytest.approx(210 / (6 * 7 * 60))
    assert staff["Anna"].counts.no_show_rate == pytest.approx(1 / 4)
    assert counts(staff["Ben"].counts) == (3, 2, 1, 0, 0)
    assert staff["Ben"].booked_minutes == 90 + 60 + 60  # including an hour booked outside his hours
    assert staff["Ben"].available_minutes == 7 * 7 * 60
    assert staff["Ben"].utilization == pytest.approx(210 / (7 * 7 * 60))
    assert staff["Ben"].counts.HasField("no_show_rate") and staff["Ben"].counts.no_show_rate == 0


async def test_an_empty_range_has_no_rates_and_reports_are_for_owners_and_admins(
    catalogue: cat_grpc.CatalogueServiceStub,
    reports: rep_grpc.ReportServiceStub,
    clients: client_grpc.ClientRecordsStub,
) -> None:
    salon = await open_salon(catalogue, clients)
    with bind_call_context(salon.as_role("owner")):
        # Someone who no longer works here and had nothing in the range is left out.
        await catalogue.PutStaffMember(
            cat.StaffMember(staff_id=str(uuid.uuid4()), display_name="Cleo", timezone="Europe/Berlin", active=False)
        )
    request = rep.AppointmentReportRequest(**{"from": salon.first.isoformat(), "to": salon.first.isoformat()})
    with bind_call_context(salon.as_role("admin")):
        empty = await reports.GetAppointmentReport(request)
    assert counts(empty.totals) == (0, 0, 0, 0, 0)
    assert not empty.totals.HasField("no_show_rate") and not empty.totals.HasField("cancellation_rate")
    assert [r.HasField("share") for r in empty.by_status] == [False] * 4
    assert [(r.display_name, r.available_minutes, r.booked_minutes) for r in empty.by_staff] == [
        ("Anna", 7 * 60, 0),
        ("Ben", 7 * 60, 0),
    ]
    assert empty.by_staff[0].utilization == 0 and list(empty.by_service) == []

    with bind_call_context(salon.as_role("staff")):
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await reports.GetAppointmentReport(request)
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with bind_call_context(CallContext(salon.tenant, Principal("portal", str(uuid.uuid4()), "", salon.clients[0]))):
        with pytest.raises(grpc.aio.AioRpcError) as portal:
            await reports.GetAppointmentReport(request)
    assert portal.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with bind_call_context(salon.as_role("owner")):
        with pytest.raises(grpc.aio.AioRpcError) as too_long:
            await reports.GetAppointmentReport(
                rep.AppointmentReportRequest(**{"from": "2026-01-01", "to": "2027-01-02"})
            )
    assert too_long.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in from_rpc_error(too_long.value).violations] == ["to"]
