"""The portal-requests service over gRPC, against real PostgreSQL and NATS, with the client and scheduling
services it asks (in process)."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import grpc
import nats
import pytest
from google.protobuf import struct_pb2
from nats.js.api import DeliverPolicy
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from atrium.client.v1 import client_record_pb2 as record_pb
from atrium.client.v1 import client_service_pb2 as client_pb
from atrium.client.v1 import client_service_pb2_grpc as client_grpc
from atrium.client.v1 import events_pb2 as client_events
from atrium.common.v1 import types_pb2
from atrium.common.v1.events_pb2 import EventEnvelope
from atrium.portal_requests.v1 import events_pb2
from atrium.portal_requests.v1 import portal_requests_pb2 as pb
from atrium.portal_requests.v1 import portal_requests_pb2_grpc as pb_grpc
from atrium.scheduling.v1 import appointments_pb2 as appointments_pb
from atrium.scheduling.v1 import appointments_pb2_grpc as appointments_grpc
from atrium.scheduling.v1 import catalogue_pb2 as cat
from atrium.scheduling.v1 import catalogue_pb2_grpc as cat_grpc
from atrium.scheduling.v1 import holds_pb2 as holds_pb
from atrium.scheduling.v1 import holds_pb2_grpc as holds_grpc
from platform_core.db import create_engine, session_factory
from platform_core.grpc.context import CallContext, Principal, bind_call_context
from platform_core.grpc.errors import from_rpc_error
from platform_core.grpc.values import timestamp
from platform_core.messaging.bus import ensure_stream
from platform_core.messaging.envelope import build_envelope, subject_for
from platform_dev.testing.plugin import wait_until
from portal_requests_svc.adapters.repository import SqlAlchemyRequestRepository
from portal_requests_svc.adapters.scheduler import GrpcScheduler, SlotToHold
from portal_requests_svc.bootstrap import grpc_ports
from portal_requests_svc.config import PortalRequestsSettings
from portal_requests_svc.entrypoints.hold_reconciler import HoldReconciler
from portal_requests_svc.entrypoints.request_expirer import RequestExpirer
from portal_requests_svc.service_layer.unit_of_work import PortalRequestsPorts, SqlAlchemyPortalRequestsUnitOfWork

BERLIN = ZoneInfo("Europe/Berlin")
ALL_WEEK_9_TO_17 = [cat.DayHours(weekday=d, ranges=[cat.TimeRange(start="09:00", end="17:00")]) for d in range(7)]


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=BERLIN)


@dataclass
class Business:
    tenant: uuid.UUID
    staff_id: str
    service_id: str
    client_ids: list[str]
    day: date

    def staff(self) -> CallContext:
        return CallContext(self.tenant, Principal("staff", self.staff_id, "owner"))

    def portal(self, client_id: str) -> CallContext:
        return CallContext(self.tenant, Principal("portal", str(uuid.uuid4()), "", client_id))


@pytest.fixture
def requests(portal_requests_channel: grpc.aio.Channel) -> pb_grpc.PortalRequestServiceStub:
    return pb_grpc.PortalRequestServiceStub(portal_requests_channel)


@pytest.fixture
def appointments(scheduling_channel: grpc.aio.Channel) -> appointments_grpc.AppointmentServiceStub:
    return appointments_grpc.AppointmentServiceStub(scheduling_channel)


@pytest.fixture
def scheduler(scheduling_channel: grpc.aio.Channel) -> GrpcScheduler:
    """Scheduling as this service asks it (for sweeps run by hand)."""
    return GrpcScheduler(
        appointments_grpc.AppointmentServiceStub(scheduling_channel), holds_grpc.SlotHoldServiceStub(scheduling_channel)
    )


@pytest.fixture
def ports(
    client_channel: grpc.aio.Channel,
    scheduling_channel: grpc.aio.Channel,
    portal_requests_settings: PortalRequestsSettings,
) -> PortalRequestsPorts:
    """The other services as the use cases ask them (for sweeps run by hand)."""
    return grpc_ports(client_channel, scheduling_channel, portal_requests_settings)


@pytest.fixture
def clients(client_channel: grpc.aio.Channel) -> client_grpc.ClientRecordsStub:
    return client_grpc.ClientRecordsStub(client_channel)


@pytest.fixture
def custom_fields(client_channel: grpc.aio.Channel) -> client_grpc.CustomFieldsStub:
    return client_grpc.CustomFieldsStub(client_channel)


@pytest.fixture
async def business(scheduling_channel: grpc.aio.Channel, clients: client_grpc.ClientRecordsStub) -> Business:
    """A tenant with one stylist working 9-17 every day, one online-bookable service and three clients."""
    catalogue = cat_grpc.CatalogueServiceStub(scheduling_channel)
    tenant, staff_id = uuid.uuid4(), str(uuid.uuid4())
    with bind_call_context(CallContext(tenant, Principal("staff", staff_id, "owner"))):
        await catalogue.UpdateSchedulingSettings(
            cat.SchedulingSettings(
                timezone="Europe/Berlin",
                slot_rules=cat.SlotRules(granularity_minutes=30, min_notice_minutes=60, horizon_days=60),
            )
        )
        await catalogue.PutStaffMember(
            cat.StaffMember(
                staff_id=staff_id,
                display_name="Anna",
                timezone="Europe/Berlin",
                weekly_hours=ALL_WEEK_9_TO_17,
                active=True,
            )
        )
        service = await catalogue.CreateService(
            cat.ServiceInput(
                name="Haircut",
                duration_minutes=60,
                price=types_pb2.Money(amount_minor=4500, currency="EUR"),
                capacity=1,
                bookable_online=True,
                staff_ids=[staff_id],
            )
        )
        client_ids = [
            (await clients.CreateClient(client_pb.CreateClientRequest(first_name=f"Client {i}"))).id for i in range(3)
        ]
    day = (datetime.now(BERLIN) + timedelta(days=10)).date()
    return Business(tenant, staff_id, service.id, client_ids, day)


def option(start: datetime, end: datetime | None = None) -> pb.TimeOption:
    return pb.TimeOption(start=timestamp(start), end=timestamp(end)) if end else pb.TimeOption(start=timestamp(start))


async def submit(
    stub: pb_grpc.PortalRequestServiceStub, business: Business, client_id: str, *starts: datetime, **fields: object
) -> pb.AppointmentRequest:
    with bind_call_context(business.portal(client_id)):
        return await stub.SubmitRequest(
            pb.SubmitRequestRequest(
                service_id=business.service_id,
                options=[option(s) for s in starts or (at(business.day, 10),)],
                timezone="Europe/Berlin",
                **fields,
            )
        )


async def refusal(call: object) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await call  # type: ignore[misc]
    remote = from_rpc_error(exc.value)
    return remote.code, remote.reason


async def client_appointment_ids(
    appointments: appointments_grpc.AppointmentServiceStub, business: Business, client_id: str
) -> list[str]:
    with bind_call_context(business.staff()):
        reply = await appointments.ListClientAppointments(
            appointments_pb.ListClientAppointmentsRequest(client_id=client_id)
        )
    return [a.id for a in reply.appointments]


async def published_types(settings: PortalRequestsSettings, request_id: str) -> list[str]:
    """Event types on the portal-requests stream about one request, in order."""
    nc = await nats.connect(settings.nats_url)
    try:
        js = nc.jetstream()
        sub = await js.subscribe(
            f"{settings.nats_prefix}.portal_requests.>", ordered_consumer=True, deliver_policy=DeliverPolicy.ALL
        )
        found = []
        while True:
            try:
                msg = await sub.next_msg(timeout=0.3)
            except nats.errors.TimeoutError:
                return found
            envelope = EventEnvelope.FromString(msg.data)
            if envelope.aggregate_id == request_id:
                found.append(envelope.event_type.rsplit(".", 1)[1])
    finally:
        await nc.close()


async def test_submit_then_approve_books_once_even_when_approval_is_retried(
    requests: pb_grpc.PortalRequestServiceStub,
    appointments: appointments_grpc.AppointmentServiceStub,
    business: Business,
    portal_requests_settings: PortalRequestsSettings,
) -> None:
    client_id = business.client_ids[0]
    first = await submit(requests, business, client_id, at(business.day, 10), at(business.day, 14), submission_id="k1")
    again = await submit(requests, business, client_id, at(business.day, 11), submission_id="k1")
    assert (first.status, again.id, len(again.options)) == ("pending", first.id, 2)

    with bind_call_context(business.staff()):
        # An earlier approval booked in scheduling and then failed before recording it: the retry finds that
        # booking by the request id instead of booking a second appointment.
        earlier = await appointments.BookAppointment(
            appointments_pb.BookAppointmentRequest(
                client_id=client_id,
                segments=[appointments_pb.SegmentRequest(service_id=business.service_id)],
                start=timestamp(at(business.day, 14)),
                request_id=first.id,
                source="portal_request",
            )
        )
        approved = await requests.ApproveRequest(
            pb.ApproveRequestRequest(
                request_id=first.id, start=timestamp(at(business.day, 14)), technician_id=business.staff_id
            )
        )
        assert (approved.status, approved.appointment_id) == ("approved", earlier.id)
        assert await refusal(
            requests.ApproveRequest(
                pb.ApproveRequestRequest(
                    request_id=first.id, start=timestamp(at(business.day, 14)), technician_id=business.staff_id
                )
            )
        ) == (grpc.StatusCode.FAILED_PRECONDITION, "REQUEST_NOT_PENDING")
        booked = await appointments.GetAppointment(appointments_pb.GetAppointmentRequest(appointment_id=earlier.id))
        detail = await requests.GetRequest(pb.GetRequestRequest(request_id=first.id))
    assert booked.source == "portal_request"
    assert await client_appointment_ids(appointments, business, client_id) == [earlier.id]
    assert [h.action for h in detail.history] == ["submitted", "approved"]
    assert detail.history[1].actor == f"staff:{business.staff_id}"

    expected = ["RequestSubmitted", "RequestApproved"]
    assert await wait_until(lambda: _equals(published_types(portal_requests_settings, first.id), expected), timeout=10)


async def _equals(found: object, expected: list[str]) -> bool:
    return await found == expected  # type: ignore[misc]


async def test_two_staff_approving_at_once_one_wins_and_one_appointment_is_booked(
    requests: pb_grpc.PortalRequestServiceStub,
    appointments: appointments_grpc.AppointmentServiceStub,
    business: Business,
) -> None:
    client_id = business.client_ids[0]
    request = await submit(requests, business, client_id, at(business.day, 10), at(business.day, 15))

    async def approve(hour: int) -> pb.AppointmentRequest | grpc.aio.AioRpcError:
        with bind_call_context(business.staff()):
            try:
                return await requests.ApproveRequest(
                    pb.ApproveRequestRequest(
                        request_id=request.id, start=timestamp(at(business.day, hour)), technician_id=business.staff_id
                    )
                )
            except grpc.aio.AioRpcError as exc:
                return exc

    outcomes = await asyncio.gather(approve(10), approve(15))
    won = [o for o in outcomes if isinstance(o, pb.AppointmentRequest)]
    lost = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
    assert len(won) == 1 and len(lost) == 1
    assert from_rpc_error(lost[0]).reason == "REQUEST_NOT_PENDING"
    assert await client_appointment_ids(appointments, business, client_id) == [won[0].appointment_id]


async def test_a_taken_slot_leaves_the_request_pending(
    requests: pb_grpc.PortalRequestServiceStub,
    appointments: appointments_grpc.AppointmentServiceStub,
    business: Business,
) -> None:
    mine, other = business.client_ids[0], business.client_ids[1]
    request = await submit(requests, business, mine, at(business.day, 12))
    with bind_call_context(business.staff()):
        await appointments.BookAppointment(
            appointments_pb.BookAppointmentRequest(
                client_id=other,
                segments=[appointments_pb.SegmentRequest(service_id=business.service_id)],
                start=timestamp(at(business.day, 12)),
            )
        )
        code, reason = await refusal(
            requests.ApproveRequest(
                pb.ApproveRequestRequest(
                    request_id=request.id, start=timestamp(at(business.day, 12)), technician_id=business.staff_id
                )
            )
        )
        # Scheduling's own answer, passed on: the time is known taken (a booking racing ours is SLOT_TAKEN).
        assert (code, reason) == (grpc.StatusCode.ABORTED, "SLOT_UNAVAILABLE")
        still = await requests.GetRequest(pb.GetRequestRequest(request_id=request.id))
        assert (still.status, still.appointment_id) == ("pending", "")
        # Staff pick another time instead.
        approved = await requests.ApproveRequest(
            pb.ApproveRequestRequest(
                request_id=request.id, start=timestamp(at(business.day, 13)), technician_id=business.staff_id
            )
        )
    assert approved.status == "approved"


async def test_blocked_and_deleted_clients_cannot_request_and_open_requests_are_limited(
    requests: pb_grpc.PortalRequestServiceStub, clients: client_grpc.ClientRecordsStub, business: Business
) -> None:
    blocked, deleted, busy = business.client_ids
    with bind_call_context(business.staff()):
        await clients.SetOnlineBookingBlocked(client_pb.SetOnlineBookingBlockedRequest(id=blocked, blocked=True))
        await clients.DeleteClient(client_pb.DeleteClientRequest(id=deleted))
    assert await refusal(submit(requests, business, blocked)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "BOOKING_BLOCKED",
    )
    assert await refusal(submit(requests, business, deleted)) == (grpc.StatusCode.FAILED_PRECONDITION, "CLIENT_DELETED")

    opened = [await submit(requests, business, busy, at(business.day, h)) for h in (9, 10, 11)]  # the limit is 3
    assert await refusal(submit(requests, business, busy, at(business.day, 12))) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "TOO_MANY_OPEN_REQUESTS",
    )
    with bind_call_context(business.portal(busy)):
        await requests.CancelRequest(pb.CancelRequestRequest(request_id=opened[0].id))
        assert await refusal(requests.CancelRequest(pb.CancelRequestRequest(request_id=opened[0].id))) == (
            grpc.StatusCode.FAILED_PRECONDITION,
            "REQUEST_NOT_PENDING",
        )
    assert (await submit(requests, business, busy, at(business.day, 12))).status == "pending"
    with bind_call_context(business.staff()):
        summary = await requests.GetClientRequestSummary(pb.GetClientRequestSummaryRequest(client_id=busy))
    assert (summary.open_count, summary.oldest.id) == (3, opened[1].id)


async def test_input_errors_name_the_field_and_a_portal_client_sees_only_its_own(
    requests: pb_grpc.PortalRequestServiceStub, business: Business
) -> None:
    mine, other = business.client_ids[0], business.client_ids[1]
    past = datetime.now(UTC) - timedelta(hours=1)
    with bind_call_context(business.portal(mine)):
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await requests.SubmitRequest(
                pb.SubmitRequestRequest(service_id=business.service_id, options=[option(past)], message="x" * 1001)
            )
        assert {v.field for v in from_rpc_error(exc.value).violations} == {"options[0].start"}
        code, _ = await refusal(
            requests.SubmitRequest(
                pb.SubmitRequestRequest(service_id=str(uuid.uuid4()), options=[option(at(business.day, 10))])
            )
        )
        assert code == grpc.StatusCode.INVALID_ARGUMENT
    theirs = await submit(requests, business, other)
    with bind_call_context(business.portal(mine)):
        assert (await refusal(requests.GetRequest(pb.GetRequestRequest(request_id=theirs.id))))[
            0
        ] == grpc.StatusCode.NOT_FOUND
        assert (await refusal(requests.CancelRequest(pb.CancelRequestRequest(request_id=theirs.id))))[0] == (
            grpc.StatusCode.NOT_FOUND
        )
        listed = await requests.ListRequests(pb.ListRequestsRequest(client_id=other))
        assert listed.requests == []  # the client filter of a portal caller is always its own client
        code, _ = await refusal(requests.ApproveRequest(pb.ApproveRequestRequest(request_id=theirs.id)))
        assert code == grpc.StatusCode.PERMISSION_DENIED
    with bind_call_context(business.staff()):
        queue = await requests.ListRequests(
            pb.ListRequestsRequest(status="pending", page=types_pb2.PageRequest(page_size=1))
        )
        assert [r.id for r in queue.requests] == [theirs.id] and queue.page.next_page_token == ""
        declined = await requests.DeclineRequest(pb.DeclineRequestRequest(request_id=theirs.id, reason="Try Thursday"))
    assert (declined.status, declined.decline_reason) == ("declined", "Try Thursday")


async def test_the_expiry_job_expires_passed_requests_and_skips_locked_ones(
    requests: pb_grpc.PortalRequestServiceStub,
    ports: PortalRequestsPorts,
    business: Business,
    portal_requests_settings: PortalRequestsSettings,
) -> None:
    soon = datetime.now(UTC) + timedelta(hours=2)
    request = await submit(requests, business, business.client_ids[0], soon)
    engine = create_engine(portal_requests_settings.database_url("portal_requests"), pool_size=2)
    sessions = session_factory(engine)

    def uow() -> SqlAlchemyPortalRequestsUnitOfWork:
        return SqlAlchemyPortalRequestsUnitOfWork(
            sessions, nats_prefix=portal_requests_settings.nats_prefix, ports=ports
        )

    # Hours from now every option has passed; requests of other tests lie days ahead and stay pending.
    expirer = RequestExpirer(uow(), interval_seconds=60, batch_size=10, clock=lambda: soon + timedelta(minutes=1))
    try:
        async with engine.connect() as held:
            # Another replica is deciding this request right now: the sweep leaves it alone.
            await held.execute(
                text("SELECT 1 FROM appointment_requests WHERE id = :id FOR UPDATE"), {"id": uuid.UUID(request.id)}
            )
            assert await expirer.run_once() == 0
            await held.rollback()
        assert await expirer.run_once() == 1
        assert await expirer.run_once() == 0
        # The schema holds the lifecycle too: a decided request never changes status again, and approval
        # names its appointment.
        for change in ("status = 'pending', decided_at = NULL", "status = 'approved', appointment_id = NULL"):
            with pytest.raises(IntegrityError):
                async with engine.begin() as conn:
                    await conn.execute(
                        text(f"UPDATE appointment_requests SET {change} WHERE id = :id"), {"id": uuid.UUID(request.id)}
                    )
    finally:
        await engine.dispose()
    with bind_call_context(business.staff()):
        expired = await requests.GetRequest(pb.GetRequestRequest(request_id=request.id))
    assert (expired.status, expired.decided_by, [h.action for h in expired.history]) == (
        "expired",
        "system",
        ["submitted", "expired"],
    )


async def publish_client_event(settings: PortalRequestsSettings, tenant: uuid.UUID, payload: object) -> None:
    envelope = build_envelope(
        payload,  # type: ignore[arg-type]
        tenant_id=tenant,
        aggregate_type="client",
        aggregate_id=str(uuid.uuid4()),
        producer="client",
    )
    nc = await nats.connect(settings.nats_url)
    try:
        js = nc.jetstream()
        await ensure_stream(js, settings.nats_prefix, "client")
        await js.publish(
            subject_for(settings.nats_prefix, envelope.event_type),
            envelope.SerializeToString(),
            headers={"Nats-Msg-Id": envelope.event_id},
        )
    finally:
        await nc.close()


async def test_merges_repoint_requests_unmerges_return_them_and_erasure_drops_the_message(
    requests: pb_grpc.PortalRequestServiceStub, business: Business, portal_requests_settings: PortalRequestsSettings
) -> None:
    survivor, merged = business.client_ids[0], business.client_ids[1]
    request = await submit(requests, business, merged, message="Please, Anna")
    merge_id = str(uuid.uuid4())

    async def owner_is(client_id: str) -> bool:
        with bind_call_context(business.staff()):
            found = await requests.GetRequest(pb.GetRequestRequest(request_id=request.id))
        return found.client_id == client_id

    await publish_client_event(
        portal_requests_settings,
        business.tenant,
        client_events.ClientsMerged(merge_id=merge_id, survivor_id=survivor, merged_ids=[merged]),
    )
    await wait_until(lambda: owner_is(survivor), timeout=10)
    with bind_call_context(business.staff()):
        summary = await requests.GetClientRequestSummary(pb.GetClientRequestSummaryRequest(client_id=survivor))
    assert (summary.open_count, summary.oldest.id) == (1, request.id)

    await publish_client_event(
        portal_requests_settings,
        business.tenant,
        client_events.ClientsUnmerged(merge_id=merge_id, survivor_id=survivor, restored_ids=[merged]),
    )
    await wait_until(lambda: owner_is(merged), timeout=10)
    await publish_client_event(portal_requests_settings, business.tenant, client_events.ClientErased(client_id=merged))

    async def message_dropped() -> pb.AppointmentRequest | None:
        with bind_call_context(business.staff()):
            found = await requests.GetRequest(pb.GetRequestRequest(request_id=request.id))
        return found if found.message == "" else None

    erased = await wait_until(message_dropped, timeout=10)
    assert [h.action for h in erased.history] == ["submitted", "client_merged", "client_unmerged"]
    assert erased.status == "pending"


async def test_the_booking_request_form_is_answered_with_the_request_and_kept_on_the_client(
    requests: pb_grpc.PortalRequestServiceStub,
    clients: client_grpc.ClientRecordsStub,
    custom_fields: client_grpc.CustomFieldsStub,
    business: Business,
) -> None:
    asking = business.client_ids[0]
    with bind_call_context(business.staff()):
        await custom_fields.CreateCustomField(
            record_pb.CreateCustomFieldRequest(
                label="How did you hear of us", type="text", required=True, forms=["booking_request"]
            )
        )
    with pytest.raises(grpc.aio.AioRpcError) as unanswered:
        await submit(requests, business, asking)
    assert unanswered.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in from_rpc_error(unanswered.value).violations] == ["answers.how_did_you_hear_of_us"]

    answered = await submit(
        requests,
        business,
        asking,
        answers={"how_did_you_hear_of_us": struct_pb2.Value(string_value="A friend")},
    )
    assert answered.status == "pending"
    with bind_call_context(business.staff()):
        client = await clients.GetClient(client_pb.GetClientRequest(id=asking))
    assert client.custom_fields["how_did_you_hear_of_us"].string_value == "A friend"
    # Answered once, the client's next request needs no answer again.
    assert (await submit(requests, business, asking, at(business.day, 11))).status == "pending"


async def published(settings: PortalRequestsSettings, request_id: str) -> list[object]:
    """The payloads on the portal-requests stream about one request, in order."""
    nc = await nats.connect(settings.nats_url)
    try:
        js = nc.jetstream()
        sub = await js.subscribe(
            f"{settings.nats_prefix}.portal_requests.>", ordered_consumer=True, deliver_policy=DeliverPolicy.ALL
        )
        found: list[object] = []
        while True:
            try:
                msg = await sub.next_msg(timeout=0.3)
            except nats.errors.TimeoutError:
                return found
            envelope = EventEnvelope.FromString(msg.data)
            if envelope.aggregate_id == request_id:
                payload = getattr(events_pb2, envelope.event_type.rsplit(".", 1)[1])()
                envelope.payload.Unpack(payload)
                found.append(payload)
    finally:
        await nc.close()


async def test_references_search_rows_counts_and_what_only_staff_see(
    requests: pb_grpc.PortalRequestServiceStub,
    appointments: appointments_grpc.AppointmentServiceStub,
    clients: client_grpc.ClientRecordsStub,
    business: Business,
    portal_requests_settings: PortalRequestsSettings,
) -> None:
    mia, ben = business.client_ids[0], business.client_ids[1]
    with bind_call_context(business.staff()):
        await clients.UpdateClient(
            client_pb.UpdateClientRequest(id=mia, first_name="Mia", last_name="Park", email="mia@example.com")
        )
        settings = await requests.UpdateRequestSettings(
            pb.RequestSettings(ticket_url_pattern="https://desk.example.com/tickets/{id}")
        )
        assert settings.version == 1
        assert (
            await refusal(requests.UpdateRequestSettings(pb.RequestSettings(ticket_url_pattern="desk", version=1)))
        )[0] == grpc.StatusCode.INVALID_ARGUMENT
    first = await submit(requests, business, mia, message="Short cut, please")
    second = await submit(requests, business, ben, at(business.day, 11))
    assert (first.reference, second.reference) == ("REQ-1001", "REQ-1002")  # per business, in order
    assert (first.client_name, first.client_email, first.service_name, first.duration_minutes) == (
        "Mia Park",
        "mia@example.com",
        "Haircut",
        60,
    )
    assert first.business_timezone == "Europe/Berlin"

    with bind_call_context(business.staff()):
        for query, expected in (("REQ-1002", [second.id]), ("1001", [first.id]), ("mi pa", [first.id]), ("zed", [])):
            found = await requests.ListRequests(pb.ListRequestsRequest(query=query))
            assert [r.id for r in found.requests] == expected, query
        approved = await requests.ApproveRequest(
            pb.ApproveRequestRequest(
                request_id=first.id,
                start=timestamp(at(business.day, 15)),
                technician_id=business.staff_id,
                internal_notes="Allergic to lavender",
                ticket="4711",
            )
        )
        assert (approved.technician_name, approved.internal_notes, approved.ticket_url) == (
            "Anna",
            "Allergic to lavender",
            "https://desk.example.com/tickets/4711",
        )
        booked = await appointments.GetAppointment(
            appointments_pb.GetAppointmentRequest(appointment_id=approved.appointment_id)
        )
        assert (booked.segments[0].staff_id, booked.staff_notes, booked.ticket) == (
            business.staff_id,
            "Allergic to lavender",
            "4711",
        )
        assert approved.start.ToDatetime(tzinfo=UTC) == at(business.day, 15)
        assert approved.end.ToDatetime(tzinfo=UTC) == at(business.day, 16)
        counts = await requests.CountRequestsByStatus(pb.CountRequestsByStatusRequest())
        assert (counts.pending, counts.approved, counts.total) == (1, 1, 2)
        cancelled = await requests.ListRequests(pb.ListRequestsRequest(status="cancelled"))
        assert list(cancelled.requests) == []
    with bind_call_context(business.portal(mia)):
        seen = await requests.GetRequest(pb.GetRequestRequest(request_id=first.id))
        listed = await requests.ListRequests(pb.ListRequestsRequest(status="approved"))
        assert (await refusal(requests.CountRequestsByStatus(pb.CountRequestsByStatusRequest())))[
            0
        ] == grpc.StatusCode.PERMISSION_DENIED
        own = await appointments.GetAppointment(
            appointments_pb.GetAppointmentRequest(appointment_id=approved.appointment_id)
        )
        assert (own.id, own.staff_notes, own.ticket) == (approved.appointment_id, "", "")
    for view in (seen, *listed.requests):
        assert (view.status, view.technician_name) == ("approved", "Anna")
        assert (view.internal_notes, view.ticket, view.ticket_url) == ("", "", "")

    async def approved_event() -> object | None:
        found = await published(portal_requests_settings, first.id)
        return found[-1] if len(found) == 2 else None

    event = await wait_until(approved_event, timeout=10)
    assert isinstance(event, events_pb2.RequestApproved)
    assert (event.facts.reference, event.facts.service_name, event.facts.description) == (
        "REQ-1001",
        "Haircut",
        "Short cut, please",
    )
    assert (event.technician_name, event.facts.client_timezone, event.end.ToDatetime(tzinfo=UTC)) == (
        "Anna",
        "Europe/Berlin",
        at(business.day, 16),
    )
    assert "lavender" not in str(event)  # internal notes never leave in an event a client message is made from


async def _edit(
    stub: pb_grpc.PortalRequestServiceStub, business: Business, request: pb.AppointmentRequest
) -> pb.AppointmentRequest | grpc.aio.AioRpcError:
    with bind_call_context(business.portal(request.client_id)):
        try:
            return await stub.UpdateRequest(
                pb.UpdateRequestRequest(request_id=request.id, version=request.version, message="later")
            )
        except grpc.aio.AioRpcError as exc:
            return exc


async def _approve_seen(
    stub: pb_grpc.PortalRequestServiceStub, business: Business, request: pb.AppointmentRequest
) -> pb.AppointmentRequest | grpc.aio.AioRpcError:
    with bind_call_context(business.staff()):
        try:
            return await stub.ApproveRequest(
                pb.ApproveRequestRequest(
                    request_id=request.id,
                    start=timestamp(at(business.day, 10)),
                    technician_id=business.staff_id,
                    version=request.version,
                )
            )
        except grpc.aio.AioRpcError as exc:
            return exc


async def test_an_edit_racing_an_approval_one_wins_and_the_other_gets_a_conflict(
    requests: pb_grpc.PortalRequestServiceStub,
    appointments: appointments_grpc.AppointmentServiceStub,
    business: Business,
) -> None:
    client_id = business.client_ids[0]
    for _ in range(3):
        before = set(await client_appointment_ids(appointments, business, client_id))
        request = await submit(requests, business, client_id)
        outcomes = await asyncio.gather(_edit(requests, business, request), _approve_seen(requests, business, request))
        lost = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
        assert len(lost) == 1
        assert from_rpc_error(lost[0]).reason in {"CONCURRENT_CHANGE", "REQUEST_NOT_PENDING"}
        with bind_call_context(business.staff()):
            final = await requests.GetRequest(pb.GetRequestRequest(request_id=request.id))
        booked = set(await client_appointment_ids(appointments, business, client_id)) - before
        if final.status == "approved":  # the approval won: the edit changed nothing
            assert (final.message, booked) == ("", {final.appointment_id})
        else:  # the edit won: nothing was booked
            assert (final.status, final.message, booked) == ("pending", "later", set())
        with bind_call_context(business.portal(client_id)):
            await requests.CancelRequest(pb.CancelRequestRequest(request_id=request.id))


async def test_two_overlapping_requests_approved_at_once_one_is_booked_and_the_other_stays_pending(
    requests: pb_grpc.PortalRequestServiceStub, business: Business
) -> None:
    one = await submit(requests, business, business.client_ids[0], at(business.day, 12))
    other = await submit(requests, business, business.client_ids[1], at(business.day, 12))

    async def approve(request: pb.AppointmentRequest) -> object:
        with bind_call_context(business.staff()):
            try:
                return await requests.ApproveRequest(
                    pb.ApproveRequestRequest(
                        request_id=request.id,
                        start=timestamp(at(business.day, 12) + timedelta(minutes=30 * (request is other))),
                        technician_id=business.staff_id,
                    )
                )
            except grpc.aio.AioRpcError as exc:
                return exc

    outcomes = await asyncio.gather(approve(one), approve(other))
    won = [o for o in outcomes if isinstance(o, pb.AppointmentRequest)]
    lost = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
    assert len(won) == 1 and len(lost) == 1
    assert lost[0].code() == grpc.StatusCode.ABORTED
    with bind_call_context(business.staff()):
        counts = await requests.CountRequestsByStatus(pb.CountRequestsByStatusRequest())
    assert (counts.approved, counts.pending) == (1, 1)


async def test_cancelling_an_approved_request_cancels_its_appointment_only_within_the_notice(
    requests: pb_grpc.PortalRequestServiceStub,
    appointments: appointments_grpc.AppointmentServiceStub,
    scheduling_channel: grpc.aio.Channel,
    business: Business,
) -> None:
    client_id = business.client_ids[2]
    catalogue = cat_grpc.CatalogueServiceStub(scheduling_channel)
    early, late = (
        await submit(requests, business, client_id, at(business.day, 9)),
        await submit(requests, business, client_id, at(business.day, 11)),
    )
    with bind_call_context(business.staff()):
        current = await catalogue.GetSchedulingSettings(cat.GetSchedulingSettingsRequest())
        for request, hour in ((early, 9), (late, 11)):
            await requests.ApproveRequest(
                pb.ApproveRequestRequest(
                    request_id=request.id, start=timestamp(at(business.day, hour)), technician_id=business.staff_id
                )
            )
    with bind_call_context(business.portal(client_id)):
        cancelled = await requests.CancelRequest(pb.CancelRequestRequest(request_id=early.id))
    assert (cancelled.status, cancelled.cancelled_by, cancelled.appointment_id != "") == ("cancelled", "client", True)
    with bind_call_context(business.staff()):
        appointment = await appointments.GetAppointment(
            appointments_pb.GetAppointmentRequest(appointment_id=cancelled.appointment_id)
        )
        assert (appointment.status, appointment.cancelled_by) == ("cancelled", "client")
        # The business now asks for 30 days' notice: ten days ahead is too late to cancel online.
        current.cancellation_notice_minutes = 30 * 24 * 60
        await catalogue.UpdateSchedulingSettings(current)
    with bind_call_context(business.portal(client_id)):
        code, reason = await refusal(requests.CancelRequest(pb.CancelRequestRequest(request_id=late.id)))
        assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "CANCELLATION_WINDOW_PASSED")
        still = await requests.GetRequest(pb.GetRequestRequest(request_id=late.id))
        assert still.status == "approved"
        assert (await refusal(requests.CancelRequest(pb.CancelRequestRequest(request_id=early.id))))[1] == (
            "REQUEST_NOT_PENDING"
        )
    with bind_call_context(business.staff()):
        detail = await requests.GetRequest(pb.GetRequestRequest(request_id=early.id))
    assert [h.action for h in detail.history] == ["submitted", "approved", "cancelled"]


async def test_a_client_edit_changes_the_request_and_a_client_change_reaches_the_list(
    requests: pb_grpc.PortalRequestServiceStub, business: Business, portal_requests_settings: PortalRequestsSettings
) -> None:
    client_id = business.client_ids[1]
    request = await submit(requests, business, client_id, message="Morning")
    with bind_call_context(business.portal(client_id)):
        edited = await requests.UpdateRequest(
            pb.UpdateRequestRequest(
                request_id=request.id, version=request.version, options=[option(at(business.day, 16))], message="Late"
            )
        )
        assert (edited.message, edited.version, len(edited.options)) == ("Late", request.version + 1, 1)
        code, reason = await refusal(
            requests.UpdateRequest(pb.UpdateRequestRequest(request_id=request.id, version=request.version, message="x"))
        )
        assert (code, reason) == (grpc.StatusCode.ABORTED, "CONCURRENT_CHANGE")
        with pytest.raises(grpc.aio.AioRpcError) as bad:
            await requests.UpdateRequest(
                pb.UpdateRequestRequest(
                    request_id=request.id,
                    version=edited.version,
                    options=[option(datetime.now(UTC) - timedelta(hours=1))],
                )
            )
        assert [v.field for v in from_rpc_error(bad.value).violations] == ["options[0].start"]

    await publish_client_event(
        portal_requests_settings,
        business.tenant,
        client_events.ClientUpdated(client_id=client_id, first_name="Rosa", last_name="Lind", email="rosa@example.com"),
    )

    async def renamed() -> bool:
        with bind_call_context(business.staff()):
            found = await requests.ListRequests(pb.ListRequestsRequest(query="rosa"))
        return [r.id for r in found.requests] == [request.id]

    await wait_until(renamed, timeout=10)
    found = await published(portal_requests_settings, request.id)
    assert [type(p).__name__ for p in found] == ["RequestSubmitted", "RequestUpdated"]
    assert found[1].facts.description == "Late"  # type: ignore[attr-defined]


async def test_the_active_bookings_limit_holds_on_requests_and_approvals_unless_staff_override(
    requests: pb_grpc.PortalRequestServiceStub,
    appointments: appointments_grpc.AppointmentServiceStub,
    scheduling_channel: grpc.aio.Channel,
    business: Business,
) -> None:
    client_id = business.client_ids[0]
    catalogue = cat_grpc.CatalogueServiceStub(scheduling_channel)
    waiting = await submit(requests, business, client_id, at(business.day, 9))
    with bind_call_context(business.staff()):
        current = await catalogue.GetSchedulingSettings(cat.GetSchedulingSettingsRequest())
        current.max_active_bookings_per_client = 2
        await catalogue.UpdateSchedulingSettings(current)
        await appointments.BookAppointment(
            appointments_pb.BookAppointmentRequest(
                client_id=client_id,
                segments=[appointments_pb.SegmentRequest(service_id=business.service_id)],
                start=timestamp(at(business.day, 14)),
            )
        )
    # One upcoming appointment and one pending request: the limit of two is reached.
    assert await refusal(submit(requests, business, client_id, at(business.day, 11))) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "MAX_ACTIVE_BOOKINGS",
    )
    with bind_call_context(business.staff()):
        await appointments.BookAppointment(
            appointments_pb.BookAppointmentRequest(
                client_id=client_id,
                segments=[appointments_pb.SegmentRequest(service_id=business.service_id)],
                start=timestamp(at(business.day, 16)),
            )
        )
        approval = pb.ApproveRequestRequest(
            request_id=waiting.id, start=timestamp(at(business.day, 9)), technician_id=business.staff_id
        )
        assert await refusal(requests.ApproveRequest(approval)) == (
            grpc.StatusCode.FAILED_PRECONDITION,
            "MAX_ACTIVE_BOOKINGS",
        )
        approval.override_booking_rules = True
        approved = await requests.ApproveRequest(approval)
        detail = await requests.GetRequest(pb.GetRequestRequest(request_id=waiting.id))
    assert approved.status == "approved"
    assert json.loads(detail.history[-1].details_json)["booking_rules_overridden"] is True


async def _accept(
    stub: pb_grpc.PortalRequestServiceStub, business: Business, request: pb.AppointmentRequest, alternative: int
) -> pb.AppointmentRequest | grpc.aio.AioRpcError:
    with bind_call_context(business.portal(request.client_id)):
        try:
            return await stub.AcceptAlternative(
                pb.AcceptAlternativeRequest(request_id=request.id, alternative=alternative)
            )
        except grpc.aio.AioRpcError as exc:
            return exc


async def test_a_counter_offer_accepted_twice_at_once_books_once(
    requests: pb_grpc.PortalRequestServiceStub,
    appointments: appointments_grpc.AppointmentServiceStub,
    business: Business,
    portal_requests_settings: PortalRequestsSettings,
) -> None:
    client_id = business.client_ids[1]
    request = await submit(requests, business, client_id, at(business.day, 9))
    with bind_call_context(business.staff()):
        settings = await requests.UpdateRequestSettings(pb.RequestSettings(proposal_hold_minutes=60))
        assert settings.proposal_hold_minutes == 60
        proposed = await requests.ProposeAlternatives(
            pb.ProposeAlternativesRequest(
                request_id=request.id,
                alternatives=[timestamp(at(business.day, 13)), timestamp(at(business.day, 15))],
                technician_id=business.staff_id,
                note="9:00 is taken; these are free",
            )
        )
        assert (proposed.status, proposed.proposed_technician_name, len(proposed.alternatives)) == (
            "proposed",
            "Anna",
            2,
        )
        counts = await requests.CountRequestsByStatus(pb.CountRequestsByStatusRequest())
        assert (counts.proposed, counts.pending) == (1, 0)
        # A proposal answers the request: it is not proposed twice nor approved by staff meanwhile.
        code, reason = await refusal(
            requests.ProposeAlternatives(
                pb.ProposeAlternativesRequest(request_id=request.id, alternatives=[timestamp(at(business.day, 16))])
            )
        )
        assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "REQUEST_NOT_PENDING")
    assert proposed.hold_until.ToDatetime(tzinfo=UTC) - proposed.updated_at.ToDatetime(tzinfo=UTC) == timedelta(hours=1)

    outcomes = await asyncio.gather(*(_accept(requests, business, proposed, i) for i in (0, 1, 0)))
    won = [o for o in outcomes if isinstance(o, pb.AppointmentRequest)]
    lost = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
    assert len(won) == 1 and len(lost) == 2
    assert {from_rpc_error(e).reason for e in lost} == {"REQUEST_NOT_PROPOSED"}
    assert (won[0].status, won[0].technician_name) == ("approved", "Anna")
    assert await client_appointment_ids(appointments, business, client_id) == [won[0].appointment_id]

    async def accepted_event() -> object | None:
        found = await published(portal_requests_settings, request.id)
        return found[-1] if len(found) == 3 else None

    event = await wait_until(accepted_event, timeout=10)
    assert isinstance(event, events_pb2.RequestAlternativeAccepted)
    assert (event.appointment_id, event.technician_name, event.facts.reference) == (
        won[0].appointment_id,
        "Anna",
        request.reference,
    )


async def test_an_unanswered_proposal_expires_with_its_hold(
    requests: pb_grpc.PortalRequestServiceStub,
    ports: PortalRequestsPorts,
    business: Business,
    portal_requests_settings: PortalRequestsSettings,
) -> None:
    request = await submit(requests, business, business.client_ids[2], at(business.day, 9))
    with bind_call_context(business.staff()):
        proposed = await requests.ProposeAlternatives(
            pb.ProposeAlternativesRequest(request_id=request.id, alternatives=[timestamp(at(business.day, 12))])
        )
    hold_until = proposed.hold_until.ToDatetime(tzinfo=UTC)
    engine = create_engine(portal_requests_settings.database_url("portal_requests"), pool_size=2)
    sessions = session_factory(engine)

    def uow() -> SqlAlchemyPortalRequestsUnitOfWork:
        return SqlAlchemyPortalRequestsUnitOfWork(
            sessions, nats_prefix=portal_requests_settings.nats_prefix, ports=ports
        )

    try:
        # Other tests' requests lie days ahead; this sweep runs just after this hold ends.
        await RequestExpirer(uow(), interval_seconds=60, batch_size=10, clock=lambda: hold_until).run_once()
    finally:
        await engine.dispose()
    with bind_call_context(business.staff()):
        expired = await requests.GetRequest(pb.GetRequestRequest(request_id=request.id))
    assert (expired.status, [h.action for h in expired.history]) == ("expired", ["submitted", "proposed", "expired"])
    assert (await _accept(requests, business, expired, 0)).code() == grpc.StatusCode.FAILED_PRECONDITION  # type: ignore[union-attr]


async def _accept_offer(
    stub: pb_grpc.PortalRequestServiceStub, business: Business, client_id: str, offer_id: str
) -> pb.WaitlistEntry | grpc.aio.AioRpcError:
    with bind_call_context(business.portal(client_id)):
        try:
            return await stub.AcceptWaitlistOffer(pb.AcceptWaitlistOfferRequest(offer_id=offer_id))
        except grpc.aio.AioRpcError as exc:
            return exc


async def test_a_cancelled_appointment_is_offered_to_the_waitlist_and_accepted_twice_books_once(
    requests: pb_grpc.PortalRequestServiceStub,
    appointments: appointments_grpc.AppointmentServiceStub,
    business: Business,
    portal_requests_settings: PortalRequestsSettings,
) -> None:
    booked_client, waiting_client, evening_client = business.client_ids
    day = business.day.isoformat()
    with bind_call_context(business.portal(evening_client)):
        await requests.JoinWaitlist(
            pb.JoinWaitlistRequest(
                service_id=business.service_id, from_date=day, to_date=day, window_start="16:00", window_end="17:00"
            )
        )
    with bind_call_context(business.portal(waiting_client)):
        entry = await requests.JoinWaitlist(
            pb.JoinWaitlistRequest(service_id=business.service_id, from_date=day, to_date=day)
        )
        assert (entry.status, entry.joined_by, entry.timezone) == ("waiting", "client", "Europe/Berlin")
        code, _ = await refusal(
            requests.JoinWaitlist(
                pb.JoinWaitlistRequest(service_id=business.service_id, from_date=day, to_date="2000-01-01")
            )
        )
        assert code == grpc.StatusCode.INVALID_ARGUMENT
    with bind_call_context(business.staff()):
        taken = await appointments.BookAppointment(
            appointments_pb.BookAppointmentRequest(
                client_id=booked_client,
                segments=[appointments_pb.SegmentRequest(service_id=business.service_id)],
                start=timestamp(at(business.day, 10)),
            )
        )
        await appointments.CancelAppointment(
            appointments_pb.CancelAppointmentRequest(appointment_id=taken.id, reason="ill")
        )

    async def offered() -> pb.WaitlistEntry | None:
        with bind_call_context(business.portal(waiting_client)):
            found = await requests.ListWaitlist(pb.ListWaitlistRequest())
        return found.entries[0] if found.entries and found.entries[0].status == "offered" else None

    mine = await wait_until(offered, timeout=15)
    [offer] = mine.offers
    assert (offer.status, offer.start.ToDatetime(tzinfo=UTC), offer.staff_id) == (
        "open",
        at(business.day, 10),
        business.staff_id,
    )
    with bind_call_context(business.staff()):
        listed = await requests.ListWaitlist(pb.ListWaitlistRequest(client_id=evening_client))
    assert [e.status for e in listed.entries] == ["waiting"]  # 10:00 is outside its hours

    outcomes = await asyncio.gather(*(_accept_offer(requests, business, waiting_client, offer.id) for _ in range(3)))
    won = [o for o in outcomes if isinstance(o, pb.WaitlistEntry)]
    lost = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
    assert len(won) == 1 and len(lost) == 2
    assert {from_rpc_error(e).reason for e in lost} == {"OFFER_NOT_OPEN"}
    assert won[0].status == "booked"
    [booked_id] = await client_appointment_ids(appointments, business, waiting_client)
    assert won[0].offers[0].appointment_id == booked_id
    # Another client cannot take someone else's offer.
    other = await _accept_offer(requests, business, evening_client, offer.id)
    assert isinstance(other, grpc.aio.AioRpcError) and other.code() == grpc.StatusCode.NOT_FOUND


async def test_an_appointment_staff_cancel_in_scheduling_cancels_the_request_that_booked_it(
    requests: pb_grpc.PortalRequestServiceStub,
    appointments: appointments_grpc.AppointmentServiceStub,
    business: Business,
) -> None:
    request = await submit(requests, business, business.client_ids[0], at(business.day, 12))
    with bind_call_context(business.staff()):
        approved = await requests.ApproveRequest(
            pb.ApproveRequestRequest(
                request_id=request.id, start=timestamp(at(business.day, 12)), technician_id=business.staff_id
            )
        )
        await appointments.CancelAppointment(
            appointments_pb.CancelAppointmentRequest(appointment_id=approved.appointment_id, reason="Stylist ill")
        )

    async def cancelled() -> pb.AppointmentRequest | None:
        with bind_call_context(business.portal(request.client_id)):
            found = await requests.GetRequest(pb.GetRequestRequest(request_id=request.id))
        return found if found.status == "cancelled" else None

    seen = await wait_until(cancelled, timeout=15)
    assert (seen.cancelled_by, seen.appointment_id, seen.history[-1].actor) == (
        "staff",
        approved.appointment_id,
        "system",
    )


async def test_staff_make_a_request_for_a_client_by_its_rules_and_an_override_stays_on_record(
    requests: pb_grpc.PortalRequestServiceStub,
    clients: client_grpc.ClientRecordsStub,
    business: Business,
    portal_requests_settings: PortalRequestsSettings,
) -> None:
    blocked = business.client_ids[0]
    made = pb.SubmitRequestRequest(
        client_id=blocked,
        service_id=business.service_id,
        options=[option(at(business.day, 10))],
        message="Called in: wants Anna",
    )
    with bind_call_context(business.staff()):
        await clients.SetOnlineBookingBlocked(client_pb.SetOnlineBookingBlockedRequest(id=blocked, blocked=True))
        assert await refusal(requests.SubmitRequest(made)) == (grpc.StatusCode.FAILED_PRECONDITION, "BOOKING_BLOCKED")
        for bad, field_name in (
            (
                pb.SubmitRequestRequest(service_id=business.service_id, options=[option(at(business.day, 10))]),
                "client_id",
            ),
            (pb.SubmitRequestRequest(client_id="nope", service_id=business.service_id), "client_id"),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await requests.SubmitRequest(bad)
            assert [v.field for v in from_rpc_error(refused.value).violations] == [field_name]
        unknown = pb.SubmitRequestRequest()
        unknown.CopyFrom(made)
        unknown.client_id = str(uuid.uuid4())
        assert (await refusal(requests.SubmitRequest(unknown)))[0] == grpc.StatusCode.NOT_FOUND
        nothing = await requests.ListRequests(pb.ListRequestsRequest(client_id=blocked))
        assert list(nothing.requests) == []  # refused attempts wrote nothing

        made.override_booking_rules = True
        created = await requests.SubmitRequest(made)
        detail = await requests.GetRequest(pb.GetRequestRequest(request_id=created.id))
    assert (created.status, created.channel, created.client_id, created.message) == (
        "pending",
        "staff",
        blocked,
        "Called in: wants Anna",
    )
    submitted = detail.history[0]
    assert (submitted.action, submitted.actor) == ("submitted", f"staff:{business.staff_id}")
    assert json.loads(submitted.details_json) | {"reference": ""} == {
        "options": 1,
        "reference": "",
        "channel": "staff",
        "booking_rules_overridden": True,
    }
    # A portal client may not override its own rules, and acts only for itself.
    with bind_call_context(business.portal(business.client_ids[1])):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await requests.SubmitRequest(made)
        assert [v.field for v in from_rpc_error(refused.value).violations] == ["override_booking_rules"]

    async def submitted_event() -> object | None:
        found = await published(portal_requests_settings, created.id)
        return found[0] if found else None

    event = await wait_until(submitted_event, timeout=10)
    assert isinstance(event, events_pb2.RequestSubmitted)
    assert (event.facts.channel, event.facts.reference) == ("staff", created.reference)


async def test_scheduling_counts_a_clients_upcoming_bookings_exactly(
    appointments: appointments_grpc.AppointmentServiceStub, business: Business
) -> None:
    client_id, other = business.client_ids[0], business.client_ids[1]
    with bind_call_context(business.staff()):
        booked = [
            await appointments.BookAppointment(
                appointments_pb.BookAppointmentRequest(
                    client_id=client_id,
                    segments=[appointments_pb.SegmentRequest(service_id=business.service_id)],
                    start=timestamp(at(business.day, hour)),
                )
            )
            for hour in (9, 11, 13)
        ]
        await appointments.CancelAppointment(
            appointments_pb.CancelAppointmentRequest(appointment_id=booked[0].id, reason="Moved away")
        )
        counted = await appointments.CountClientBookings(
            appointments_pb.CountClientBookingsRequest(client_id=client_id)
        )
        assert counted.upcoming == 2  # cancelled ones do not count
    with bind_call_context(business.portal(client_id)):
        own = await appointments.CountClientBookings(appointments_pb.CountClientBookingsRequest())
        assert own.upcoming == 2
        # Another client's count looks missing to a portal client.
        assert (
            await refusal(appointments.CountClientBookings(appointments_pb.CountClientBookingsRequest(client_id=other)))
        )[0] == grpc.StatusCode.NOT_FOUND


async def test_the_booking_rules_hold_on_accepting_a_proposal_and_count_the_clients_other_open_requests(
    requests: pb_grpc.PortalRequestServiceStub,
    appointments: appointments_grpc.AppointmentServiceStub,
    clients: client_grpc.ClientRecordsStub,
    scheduling_channel: grpc.aio.Channel,
    business: Business,
) -> None:
    client_id = business.client_ids[2]
    catalogue = cat_grpc.CatalogueServiceStub(scheduling_channel)
    first = await submit(requests, business, client_id, at(business.day, 9))
    second = await submit(requests, business, client_id, at(business.day, 10))
    with bind_call_context(business.staff()):
        await appointments.BookAppointment(
            appointments_pb.BookAppointmentRequest(
                client_id=client_id,
                segments=[appointments_pb.SegmentRequest(service_id=business.service_id)],
                start=timestamp(at(business.day, 16)),
            )
        )
        current = await catalogue.GetSchedulingSettings(cat.GetSchedulingSettingsRequest())
        current.max_active_bookings_per_client = 2
        await catalogue.UpdateSchedulingSettings(current)
        proposed = await requests.ProposeAlternatives(
            pb.ProposeAlternativesRequest(request_id=first.id, alternatives=[timestamp(at(business.day, 13))])
        )
    # One appointment and the other open request reach the limit of two: taking the proposal is refused.
    refused = await _accept(requests, business, proposed, 0)
    assert isinstance(refused, grpc.aio.AioRpcError) and from_rpc_error(refused).reason == "MAX_ACTIVE_BOOKINGS"
    with bind_call_context(business.portal(client_id)):
        await requests.CancelRequest(pb.CancelRequestRequest(request_id=second.id))
    accepted = await _accept(requests, business, proposed, 0)
    assert isinstance(accepted, pb.AppointmentRequest) and accepted.status == "approved"
    # Blocked since: the client's next acceptance or request is refused like a booking.
    with bind_call_context(business.staff()):
        await clients.SetOnlineBookingBlocked(client_pb.SetOnlineBookingBlockedRequest(id=client_id, blocked=True))
    assert await refusal(submit(requests, business, client_id, at(business.day, 12))) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "BOOKING_BLOCKED",
    )


async def test_a_name_search_reads_the_word_index(
    requests: pb_grpc.PortalRequestServiceStub,
    clients: client_grpc.ClientRecordsStub,
    business: Business,
    portal_requests_settings: PortalRequestsSettings,
) -> None:
    mia = business.client_ids[0]
    with bind_call_context(business.staff()):
        await clients.UpdateClient(client_pb.UpdateClientRequest(id=mia, first_name="Mia-Sophie", last_name="O'Neil"))
    request = await submit(requests, business, mia)
    with bind_call_context(business.staff()):
        for query, expected in (("mia-s o'n", [request.id]), ("O'NEIL", [request.id]), ("sophie", []), ("%", [])):
            found = await requests.ListRequests(pb.ListRequestsRequest(query=query))
            assert [r.id for r in found.requests] == expected, query
    engine = create_engine(portal_requests_settings.database_url("portal_requests"), pool_size=1)
    try:
        async with engine.connect() as conn:
            words = (
                await conn.execute(
                    text("SELECT word FROM request_client_words WHERE tenant_id = :t ORDER BY word"),
                    {"t": business.tenant},
                )
            ).scalars()
            assert list(words) == ["mia-sophie", "o'neil"]
            await conn.execute(text("SET enable_seqscan = off"))
            plan = (
                await conn.execute(
                    text(
                        "EXPLAIN SELECT client_id FROM request_client_words"
                        " WHERE tenant_id = :t AND word ~>=~ 'mia' AND word ~<~ 'mib'"
                    ),
                    {"t": business.tenant},
                )
            ).scalars()
            assert "request_client_words_prefix" in "\n".join(plan)
    finally:
        await engine.dispose()


async def test_a_pending_request_holds_its_first_time_from_others_until_it_is_decided(
    requests: pb_grpc.PortalRequestServiceStub,
    appointments: appointments_grpc.AppointmentServiceStub,
    scheduling_channel: grpc.aio.Channel,
    business: Business,
) -> None:
    holds = holds_grpc.SlotHoldServiceStub(scheduling_channel)
    mia, ben, eva = business.client_ids
    ten = at(business.day, 10)

    async def held() -> list[tuple[str, str, datetime]]:
        listed = await holds.ListHolds(
            holds_pb.ListHoldsRequest(**{"from": timestamp(at(business.day, 0))}, to=timestamp(at(business.day, 23)))
        )
        return [(h.hold_id, h.label, h.start.ToDatetime(tzinfo=UTC)) for h in listed.holds]

    with bind_call_context(business.staff()):
        settings = await requests.UpdateRequestSettings(pb.RequestSettings(tentative_holds=True))
        assert settings.tentative_holds is True
    first = await submit(requests, business, mia, ten)
    assert (first.hold_staff_id, first.hold_start.ToDatetime(tzinfo=UTC)) == (business.staff_id, ten)
    with bind_call_context(business.staff()):
        assert await held() == [(first.id, first.reference, ten)]
    # Another client is not offered the held time, and cannot ask for it first.
    with bind_call_context(business.portal(ben)):
        slots = await appointments.FindAvailableSlots(
            appointments_pb.FindAvailableSlotsRequest(
                service_ids=[business.service_id], from_day=business.day.isoformat(), to_day=business.day.isoformat()
            )
        )
        offered = {s.start.ToDatetime(tzinfo=UTC) for s in slots.slots}
        assert ten not in offered and at(business.day, 11) in offered
        code, _ = await refusal(submit(requests, business, ben, ten))
        assert code == grpc.StatusCode.ABORTED
        assert list((await requests.ListRequests(pb.ListRequestsRequest())).requests) == []  # nothing written
    second = await submit(requests, business, ben, at(business.day, 11))
    with bind_call_context(business.staff()):
        # Approving another request into the held time: 409 naming it, and that request stays as it was.
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await requests.ApproveRequest(
                pb.ApproveRequestRequest(request_id=second.id, start=timestamp(ten), technician_id=business.staff_id)
            )
        assert raised.value.code() == grpc.StatusCode.ABORTED and "10:00" in (raised.value.details() or "")
        assert (await requests.GetRequest(pb.GetRequestRequest(request_id=second.id))).status == "pending"
        # The holder's approval books into its hold.
        approved = await requests.ApproveRequest(
            pb.ApproveRequestRequest(request_id=first.id, start=timestamp(ten), technician_id=business.staff_id)
        )
        assert approved.status == "approved" and not approved.hold_staff_id
        assert [h[0] for h in await held()] == [second.id]
    # An edit moves the hold to a free time, and is refused (changing nothing) for a taken one.
    third = await submit(requests, business, eva, at(business.day, 13))
    with bind_call_context(business.portal(eva)):
        moved = await requests.UpdateRequest(
            pb.UpdateRequestRequest(request_id=third.id, version=third.version, options=[option(at(business.day, 14))])
        )
        assert moved.hold_start.ToDatetime(tzinfo=UTC) == at(business.day, 14)
        onto_taken = pb.UpdateRequestRequest(request_id=third.id, version=moved.version, options=[option(ten)])
        code, _ = await refusal(requests.UpdateRequest(onto_taken))
        assert code == grpc.StatusCode.ABORTED
        kept = await requests.GetRequest(pb.GetRequestRequest(request_id=third.id))
        assert (kept.version, kept.hold_start.ToDatetime(tzinfo=UTC)) == (moved.version, at(business.day, 14))
    # Cancelled by its client and declined by staff: the times go back.
    with bind_call_context(business.portal(ben)):
        await requests.CancelRequest(pb.CancelRequestRequest(request_id=second.id))
    with bind_call_context(business.staff()):
        await requests.DeclineRequest(pb.DeclineRequestRequest(request_id=third.id, reason="Away that week"))
        assert await held() == []
        assert (
            await appointments.BookAppointment(
                appointments_pb.BookAppointmentRequest(
                    client_id=eva,
                    segments=[appointments_pb.SegmentRequest(service_id=business.service_id)],
                    start=timestamp(at(business.day, 14)),
                )
            )
        ).status == "booked"


OPEN_OR_DECIDED = ("pending", "proposed", "approved", "declined", "cancelled", "expired")
ALLOWED_BY_SCHEMA = {
    *(("pending", to) for to in ("proposed", "approved", "declined", "cancelled", "expired")),
    *(("proposed", to) for to in ("approved", "declined", "cancelled", "expired")),
    ("approved", "cancelled"),
}


def _status_columns(status: str, moment: datetime) -> dict[str, object]:
    """What a request in ``status`` carries by the schema's CHECKs (decided when, the appointment, the reason…)."""
    decided = status not in ("pending", "proposed")
    return {
        "status": status,
        "decided_at": moment if decided else None,
        "decided_by": "staff:x" if decided else "",
        "appointment_id": uuid.uuid4() if status == "approved" else None,
        "start_at": moment if status == "approved" else None,
        "decline_reason": "Fully booked" if status == "declined" else "",
        "cancelled_at": moment if status == "cancelled" else None,
        "cancelled_by": "client" if status == "cancelled" else "",
        "alternatives": json.dumps([moment.isoformat()] if status == "proposed" else []),
        "hold_until": moment if status == "proposed" else None,
    }


async def test_the_schema_allows_exactly_the_status_changes_the_domain_allows(
    requests: pb_grpc.PortalRequestServiceStub,  # the service is up: its database is migrated
    portal_requests_settings: PortalRequestsSettings,
) -> None:
    """Every pair of statuses, straight against the table: the trigger refuses each change the rules forbid
    (whatever the columns say), and lets each allowed one through."""
    tenant, moment = uuid.uuid4(), datetime.now(UTC) + timedelta(days=3)
    engine = create_engine(portal_requests_settings.database_url("portal_requests"), pool_size=1)
    try:
        for number, before in enumerate(OPEN_OR_DECIDED, start=1001):
            request_id = uuid.uuid4()
            columns = _status_columns(before, moment)
            async with engine.begin() as conn:
                await conn.execute(
                    text(
                        "INSERT INTO appointment_requests (tenant_id, id, client_id, service_id, options, expires_at,"
                        " timezone, created_at, updated_at, reference_number, status, decided_at, decided_by,"
                        " appointment_id, start_at, decline_reason, cancelled_at, cancelled_by, alternatives,"
                        " hold_until) VALUES (:t, :id, :c, :s, CAST(:options AS jsonb), :at, 'UTC', :at, :at, :n,"
                        " :status, :decided_at, :decided_by, :appointment_id, :start_at, :decline_reason,"
                        " :cancelled_at, :cancelled_by, CAST(:alternatives AS jsonb), :hold_until)"
                    ),
                    {
                        "t": tenant,
                        "id": request_id,
                        "c": uuid.uuid4(),
                        "s": uuid.uuid4(),
                        "options": json.dumps([{"start": moment.isoformat(), "end": None}]),
                        "at": moment,
                        "n": number,
                        **columns,
                    },
                )
            for after in OPEN_OR_DECIDED:
                if after == before:
                    continue
                target = _status_columns(after, moment)
                if (before, after) == ("approved", "cancelled"):
                    target |= {"appointment_id": columns["appointment_id"], "start_at": moment}
                change = ", ".join(
                    f"{name} = CAST(:{name} AS jsonb)" if name == "alternatives" else f"{name} = :{name}"
                    for name in target
                )
                async with engine.connect() as conn:
                    transaction = await conn.begin()
                    try:
                        await conn.execute(
                            text(f"UPDATE appointment_requests SET {change} WHERE tenant_id = :t AND id = :id"),
                            {"t": tenant, "id": request_id, **target},
                        )
                        allowed = True
                    except IntegrityError as exc:
                        assert "status cannot change" in str(exc), (before, after, exc)  # the trigger, not a CHECK
                        allowed = False
                    finally:
                        await transaction.rollback()
                assert allowed == ((before, after) in ALLOWED_BY_SCHEMA), (before, after)
    finally:
        await engine.dispose()


async def test_clients_asking_for_one_time_at_once_with_holds_one_request_holds_it_and_the_rest_write_nothing(
    requests: pb_grpc.PortalRequestServiceStub, business: Business
) -> None:
    with bind_call_context(business.staff()):
        await requests.UpdateRequestSettings(pb.RequestSettings(tentative_holds=True))

    async def ask(client_id: str) -> pb.AppointmentRequest | grpc.aio.AioRpcError:
        try:
            return await submit(requests, business, client_id, at(business.day, 12))
        except grpc.aio.AioRpcError as exc:
            return exc

    outcomes = await asyncio.gather(*(ask(c) for c in business.client_ids))
    won = [o for o in outcomes if isinstance(o, pb.AppointmentRequest)]
    lost = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
    assert len(won) == 1 and len(lost) == 2 and won[0].hold_staff_id == business.staff_id
    assert {e.code() for e in lost} == {grpc.StatusCode.ABORTED}
    with bind_call_context(business.staff()):
        listed = await requests.ListRequests(pb.ListRequestsRequest())
    assert [r.id for r in listed.requests] == [won[0].id]


async def test_a_hold_whose_request_never_committed_is_given_back_and_a_pending_requests_hold_is_kept(
    requests: pb_grpc.PortalRequestServiceStub,
    scheduler: GrpcScheduler,
    scheduling_channel: grpc.aio.Channel,
    business: Business,
    portal_requests_settings: PortalRequestsSettings,
    ports: PortalRequestsPorts,
) -> None:
    holds = holds_grpc.SlotHoldServiceStub(scheduling_channel)
    mia, ben, _ = business.client_ids
    ten, noon = at(business.day, 10), at(business.day, 12)
    with bind_call_context(business.staff()):
        await requests.UpdateRequestSettings(pb.RequestSettings(tentative_holds=True))
    kept = await submit(requests, business, mia, ten)
    # What a submission leaves behind when scheduling placed its hold and its own transaction then failed: a
    # hold named by a request id that was never committed.
    never_committed = uuid.uuid4()
    with bind_call_context(business.portal(ben)):
        await scheduler.hold(
            SlotToHold(
                never_committed, uuid.UUID(ben), uuid.UUID(business.service_id), None, noon, "REQ-never-committed"
            )
        )
        code, _ = await refusal(submit(requests, business, ben, noon))
        assert code == grpc.StatusCode.ABORTED  # the orphan blocks the time (availability no longer offers it)

    async def held() -> set[str]:
        day = {"from": timestamp(at(business.day, 0)), "to": timestamp(at(business.day, 23))}
        with bind_call_context(business.staff()):
            listed = await holds.ListHolds(holds_pb.ListHoldsRequest(**day))
        return {h.hold_id for h in listed.holds}

    assert await held() == {kept.id, str(never_committed)}
    engine = create_engine(portal_requests_settings.database_url("portal_requests"), pool_size=2)
    sessions = session_factory(engine)

    def uow() -> SqlAlchemyPortalRequestsUnitOfWork:
        return SqlAlchemyPortalRequestsUnitOfWork(
            sessions, nats_prefix=portal_requests_settings.nats_prefix, ports=ports
        )

    def reconciler(grace: timedelta) -> HoldReconciler:
        return HoldReconciler(uow(), interval_seconds=60, grace=grace, horizon=timedelta(days=365))

    try:
        # Within its grace a hold is spared (its submission may still be running); after it, the orphan goes.
        await reconciler(timedelta(hours=1)).run_once()
        assert await held() == {kept.id, str(never_committed)}
        assert await reconciler(timedelta(0)).run_once() >= 1
    finally:
        await engine.dispose()
    assert await held() == {kept.id}
    # The time is free again, and the pending request still holds its own.
    taken = await submit(requests, business, ben, noon)
    assert taken.hold_start.ToDatetime(tzinfo=UTC) == noon
    with bind_call_context(business.staff()):
        still = await requests.GetRequest(pb.GetRequestRequest(request_id=kept.id))
    assert (still.status, still.hold_start.ToDatetime(tzinfo=UTC)) == ("pending", ten)


async def test_the_reconciler_waits_for_a_submission_in_flight_and_keeps_the_hold_it_commits(
    requests: pb_grpc.PortalRequestServiceStub,
    scheduler: GrpcScheduler,
    scheduling_channel: grpc.aio.Channel,
    business: Business,
    portal_requests_settings: PortalRequestsSettings,
    ports: PortalRequestsPorts,
) -> None:
    holds = holds_grpc.SlotHoldServiceStub(scheduling_channel)
    mia, ben, _ = business.client_ids
    with bind_call_context(business.staff()):
        await requests.UpdateRequestSettings(pb.RequestSettings(tentative_holds=True))
    kept = await submit(requests, business, mia, at(business.day, 10))
    engine = create_engine(portal_requests_settings.database_url("portal_requests"), pool_size=4)
    sessions = session_factory(engine)

    def uow() -> SqlAlchemyPortalRequestsUnitOfWork:
        return SqlAlchemyPortalRequestsUnitOfWork(
            sessions, nats_prefix=portal_requests_settings.nats_prefix, ports=ports
        )

    async def held() -> set[str]:
        day = {"from": timestamp(at(business.day, 0)), "to": timestamp(at(business.day, 23))}
        with bind_call_context(business.staff()):
            listed = await holds.ListHolds(holds_pb.ListHoldsRequest(**day))
        return {h.hold_id for h in listed.holds}

    async def reconciler_waits() -> bool:
        async with engine.connect() as conn:
            waiting = await conn.scalar(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                )
            )
        return bool(waiting)

    async def submission_in_flight(hour: int, *, commits: bool) -> str:
        """A submission that placed its hold and holds the hold's lock, as submit_request does, while the
        reconciler runs; it then commits its request (a copy of ``kept`` holding that time) or rolls back."""
        request_id = uuid.uuid4()
        start = at(business.day, hour)
        with bind_call_context(business.portal(ben)):
            await scheduler.hold(
                SlotToHold(request_id, uuid.UUID(ben), uuid.UUID(business.service_id), None, start, "")
            )
        async with sessions() as session, session.begin() as transaction:
            await SqlAlchemyRequestRepository(session).lock_hold(business.tenant, request_id)
            await session.execute(
                text(
                    "INSERT INTO appointment_requests SELECT (jsonb_populate_record(NULL::appointment_requests,"
                    " to_jsonb(r) || jsonb_build_object('id', CAST(:id AS text), 'submission_id', NULL,"
                    " 'reference_number', r.reference_number + :n, 'hold_start', CAST(:start AS text),"
                    " 'hold_end', CAST(:end AS text)))).* FROM appointment_requests r WHERE r.tenant_id = :t"
                    " AND r.id = :kept"
                ),
                {
                    "id": str(request_id),
                    "n": hour * 100,
                    "start": start.isoformat(),
                    "end": (start + timedelta(hours=1)).isoformat(),
                    "t": business.tenant,
                    "kept": uuid.UUID(kept.id),
                },
            )
            run = asyncio.create_task(
                HoldReconciler(uow(), interval_seconds=60, grace=timedelta(0), horizon=timedelta(days=365)).run_once()
            )
            await wait_until(reconciler_waits, timeout=10)
            assert str(request_id) in await held()  # nothing is released while the submission may still commit
            if not commits:
                await transaction.rollback()
        await asyncio.wait_for(run, timeout=20)
        return str(request_id)

    try:
        committed = await submission_in_flight(12, commits=True)
        rolled_back = await submission_in_flight(14, commits=False)
    finally:
        await engine.dispose()
    remaining = await held()
    assert committed in remaining and kept.id in remaining and rolled_back not in remaining
