"""Public booking page requests over gRPC, against real PostgreSQL and NATS, with the client and scheduling
services they ask (in process): the emailed code, its lockout, and the ordinary request a right code makes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import grpc
import nats
import pytest
from google.protobuf import json_format, struct_pb2
from nats.js.api import DeliverPolicy
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from atrium.client.v1 import client_record_pb2 as record_pb
from atrium.client.v1 import client_service_pb2 as client_pb
from atrium.client.v1 import client_service_pb2_grpc as client_grpc
from atrium.common.v1 import types_pb2
from atrium.common.v1.events_pb2 import EventEnvelope
from atrium.portal_requests.v1 import events_pb2
from atrium.portal_requests.v1 import portal_requests_pb2 as requests_pb
from atrium.portal_requests.v1 import portal_requests_pb2_grpc as requests_grpc
from atrium.portal_requests.v1 import public_requests_pb2 as pb
from atrium.portal_requests.v1 import public_requests_pb2_grpc as pb_grpc
from atrium.scheduling.v1 import appointments_pb2 as appointments_pb
from atrium.scheduling.v1 import appointments_pb2_grpc as appointments_grpc
from atrium.scheduling.v1 import catalogue_pb2 as cat
from atrium.scheduling.v1 import catalogue_pb2_grpc as cat_grpc
from platform_core.db import create_engine, session_factory
from platform_core.grpc.context import CallContext, Principal, bind_call_context
from platform_core.grpc.errors import from_rpc_error
from platform_core.grpc.values import timestamp
from platform_dev.testing.plugin import wait_until
from portal_requests_svc.bootstrap import grpc_ports
from portal_requests_svc.config import PortalRequestsSettings
from portal_requests_svc.entrypoints.public_request_purger import PublicRequestPurger
from portal_requests_svc.service_layer.unit_of_work import SqlAlchemyPortalRequestsUnitOfWork

BERLIN = ZoneInfo("Europe/Berlin")
GATEWAY = Principal.service("public-booking-page")


@dataclass
class Page:
    tenant: uuid.UUID
    staff_id: str
    service_id: str
    day: datetime

    def gateway(self) -> CallContext:
        return CallContext(self.tenant, GATEWAY)

    def staff(self) -> CallContext:
        return CallContext(self.tenant, Principal("staff", self.staff_id, "owner"))

    def at(self, hour: int) -> datetime:
        return self.day.replace(hour=hour)


@pytest.fixture
def public(portal_requests_channel: grpc.aio.Channel) -> pb_grpc.PublicRequestServiceStub:
    return pb_grpc.PublicRequestServiceStub(portal_requests_channel)


@pytest.fixture
def clients(client_channel: grpc.aio.Channel) -> client_grpc.ClientRecordsStub:
    return client_grpc.ClientRecordsStub(client_channel)


@pytest.fixture
def custom_fields(client_channel: grpc.aio.Channel) -> client_grpc.CustomFieldsStub:
    return client_grpc.CustomFieldsStub(client_channel)


@pytest.fixture
async def engine(portal_requests_settings: PortalRequestsSettings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(portal_requests_settings.database_url("portal_requests"), pool_size=2)
    yield engine
    await engine.dispose()


@pytest.fixture
async def page(scheduling_channel: grpc.aio.Channel) -> Page:
    """A business with one stylist working 9-17 every day and one service bookable online."""
    catalogue = cat_grpc.CatalogueServiceStub(scheduling_channel)
    tenant, staff_id = uuid.uuid4(), str(uuid.uuid4())
    with bind_call_context(CallContext(tenant, Principal("staff", staff_id, "owner"))):
        await catalogue.UpdateSchedulingSettings(
            cat.SchedulingSettings(
                timezone="Europe/Berlin", slot_rules=cat.SlotRules(granularity_minutes=60, horizon_days=60)
            )
        )
        await catalogue.PutStaffMember(
            cat.StaffMember(
                staff_id=staff_id,
                display_name="Anna",
                timezone="Europe/Berlin",
                weekly_hours=[
                    cat.DayHours(weekday=d, ranges=[cat.TimeRange(start="09:00", end="17:00")]) for d in range(7)
                ],
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
    day = (datetime.now(BERLIN) + timedelta(days=10)).replace(minute=0, second=0, microsecond=0)
    return Page(tenant, staff_id, service.id, day)


async def refusal(call: object) -> tuple[grpc.StatusCode, str, list[str]]:
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await call  # type: ignore[misc]
    remote = from_rpc_error(exc.value)
    return remote.code, remote.reason, [v.field for v in remote.violations]


async def ask(
    stub: pb_grpc.PublicRequestServiceStub, page: Page, email: str, hour: int = 10, **fields: str
) -> pb.PublicRequestVerification:
    asked = {
        "service_id": page.service_id,
        "name": "Ada Lovelace",
        "email": email,
        "phone": "+4930901820",
        "message": "First visit, short hair",
        "timezone": "Europe/Berlin",
        "language": "de",
        "business_name": "Salon Anna",
    } | fields
    with bind_call_context(page.gateway()):
        return await stub.StartPublicRequest(pb.StartPublicRequestRequest(start=timestamp(page.at(hour)), **asked))


async def confirm(stub: pb_grpc.PublicRequestServiceStub, page: Page, verification_id: str, code: str) -> object:
    with bind_call_context(page.gateway()):
        return await stub.ConfirmPublicRequest(
            pb.ConfirmPublicRequestRequest(verification_id=verification_id, code=code, default_region="DE")
        )


async def emailed_code(settings: PortalRequestsSettings, verification_id: str) -> str:
    """The code as the notification service receives it: from the event on the stream."""

    async def read() -> str | None:
        nc = await nats.connect(settings.nats_url)
        try:
            sub = await nc.jetstream().subscribe(
                f"{settings.nats_prefix}.portal_requests.>", ordered_consumer=True, deliver_policy=DeliverPolicy.ALL
            )
            while True:
                try:
                    msg = await sub.next_msg(timeout=0.3)
                except nats.errors.TimeoutError:
                    return None
                envelope = EventEnvelope.FromString(msg.data)
                if envelope.aggregate_id == verification_id:
                    event = events_pb2.PublicRequestVerificationRequested()
                    envelope.payload.Unpack(event)
                    return event.code
        finally:
            await nc.close()

    found: list[str] = []

    async def arrived() -> bool:
        code = await read()
        if code:
            found.append(code)
        return bool(code)

    await wait_until(arrived, timeout=15)
    return found[0]


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def requests_of(engine: AsyncEngine, page: Page) -> list[tuple[str, str, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT status, channel, message FROM appointment_requests WHERE tenant_id = :t"), {"t": page.tenant}
        )
        return [tuple(r) for r in rows]


async def clients_named(clients: client_grpc.ClientRecordsStub, page: Page, email: str) -> list[client_pb.Client]:
    with bind_call_context(page.staff()):
        found = await clients.ListClients(client_pb.ListClientsRequest(query=email))
    return [c for c in found.clients if c.email == email]


async def test_five_wrong_codes_lock_the_request_and_nothing_is_made(
    public: pb_grpc.PublicRequestServiceStub,
    clients: client_grpc.ClientRecordsStub,
    page: Page,
    engine: AsyncEngine,
    portal_requests_settings: PortalRequestsSettings,
) -> None:
    email = f"guesser-{uuid.uuid4().hex[:8]}@example.com"
    started = await ask(public, page, email.upper())
    assert started.email == email
    code = await emailed_code(portal_requests_settings, started.verification_id)
    async with engine.connect() as conn:
        kept = (
            await conn.execute(
                text("SELECT code_hash, status FROM public_requests WHERE id = :id"),
                {"id": uuid.UUID(started.verification_id)},
            )
        ).one()
    assert kept.status == "pending" and code.encode() not in bytes(kept.code_hash)

    # Five guesses at once: every one is counted (the row lock queues them), the fifth locks.
    guesses = await asyncio.gather(
        *(refusal(confirm(public, page, started.verification_id, wrong(code))) for _ in range(5))
    )
    assert all(g == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT", ["code"]) for g in guesses)
    assert await refusal(confirm(public, page, started.verification_id, code)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "VERIFICATION_LOCKED",
        [],
    )
    assert await requests_of(engine, page) == []
    assert await clients_named(clients, page, email) == []


async def test_the_right_code_makes_a_client_and_an_ordinary_pending_request_once(
    public: pb_grpc.PublicRequestServiceStub,
    clients: client_grpc.ClientRecordsStub,
    portal_requests_channel: grpc.aio.Channel,
    page: Page,
    engine: AsyncEngine,
    portal_requests_settings: PortalRequestsSettings,
) -> None:
    email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    started = await ask(public, page, email)
    code = await emailed_code(portal_requests_settings, started.verification_id)
    # Before the code, nothing but the verification exists.
    assert await requests_of(engine, page) == []
    assert await clients_named(clients, page, email) == []

    confirmed, again = await asyncio.gather(
        confirm(public, page, started.verification_id, code), confirm(public, page, started.verification_id, code)
    )
    assert isinstance(confirmed, pb.PublicRequestConfirmed) and isinstance(again, pb.PublicRequestConfirmed)
    assert confirmed.request_id == again.request_id and confirmed.reference.startswith("REQ-")
    assert (confirmed.status, confirmed.service_name, confirmed.timezone) == ("pending", "Haircut", "Europe/Berlin")
    assert confirmed.start == timestamp(page.at(10))
    assert await requests_of(engine, page) == [("pending", "public", "First visit, short hair")]
    (client,) = await clients_named(clients, page, email)
    assert (client.first_name, client.last_name, client.profile.source) == ("Ada", "Lovelace", "booking_widget")
    assert client.phone == "+4930901820"

    # Staff see it as any other request, with its client as the client service describes it.
    with bind_call_context(page.staff()):
        seen = await requests_grpc.PortalRequestServiceStub(portal_requests_channel).GetRequest(
            requests_pb.GetRequestRequest(request_id=confirmed.request_id)
        )
    assert (seen.client_id, seen.channel, seen.client_email) == (client.id, "public", email)

    # The same address asks again: matched to the same client, not a new one.
    second = await ask(public, page, email, hour=14)
    second_code = await emailed_code(portal_requests_settings, second.verification_id)
    await confirm(public, page, second.verification_id, second_code)
    assert len(await clients_named(clients, page, email)) == 1
    assert sorted(r[0] for r in await requests_of(engine, page)) == ["pending", "pending"]

    # An erasure of the client takes what the visitor typed on the page with it (ClientErased, from the outbox).
    unconfirmed = await ask(public, page, email, hour=15)
    with bind_call_context(page.staff()):
        await clients.EraseClient(client_pb.EraseClientRequest(id=client.id, confirm=True))

    async def forgotten() -> bool:
        async with engine.connect() as conn:
            count = await conn.scalar(
                text("SELECT count(*) FROM public_requests WHERE tenant_id = :t AND email = :e"),
                {"t": page.tenant, "e": email},
            )
        return count == 0

    await wait_until(forgotten, timeout=15)
    assert unconfirmed.email == email


async def test_the_booking_forms_answers_are_checked_before_the_code_and_kept_on_the_client(
    public: pb_grpc.PublicRequestServiceStub,
    clients: client_grpc.ClientRecordsStub,
    custom_fields: client_grpc.CustomFieldsStub,
    page: Page,
    engine: AsyncEngine,
    portal_requests_settings: PortalRequestsSettings,
) -> None:
    with bind_call_context(page.staff()):
        for label, kind, required in (("Hair length", "single_choice", True), ("Mobile", "phone", False)):
            await custom_fields.CreateCustomField(
                record_pb.CreateCustomFieldRequest(
                    label=label,
                    type=kind,
                    options=["Short", "Long"] if kind == "single_choice" else [],
                    required=required,
                    forms=["booking_request"],
                )
            )

    def answers(**given: object) -> dict[str, struct_pb2.Value]:
        return {k: json_format.ParseDict(v, struct_pb2.Value()) for k, v in given.items()}

    email = f"answers-{uuid.uuid4().hex[:8]}@example.com"
    for given, fields in (
        ({}, ["answers.hair_length"]),
        ({"hair_length": "Medium", "mobile": "12"}, ["answers.hair_length", "answers.mobile"]),
    ):
        with bind_call_context(page.gateway()):
            refused = await refusal(
                public.StartPublicRequest(
                    pb.StartPublicRequestRequest(
                        service_id=page.service_id,
                        start=timestamp(page.at(10)),
                        name="Ada",
                        email=email,
                        answers=answers(**given),
                        default_region="DE",
                    )
                )
            )
        assert (refused[0], sorted(refused[2])) == (grpc.StatusCode.INVALID_ARGUMENT, fields)
    async with engine.connect() as conn:
        kept = await conn.scalar(text("SELECT count(*) FROM public_requests WHERE tenant_id = :t"), {"t": page.tenant})
    assert kept == 0

    # A national number is read in the business's region; the answers wait with the code, then reach the client.
    with bind_call_context(page.gateway()):
        started = await public.StartPublicRequest(
            pb.StartPublicRequestRequest(
                service_id=page.service_id,
                start=timestamp(page.at(10)),
                name="Ada",
                email=email,
                answers=answers(hair_length="long", mobile="030 901820"),
                default_region="DE",
            )
        )
    await confirm(
        public, page, started.verification_id, await emailed_code(portal_requests_settings, started.verification_id)
    )
    (listed,) = await clients_named(clients, page, email)
    with bind_call_context(page.staff()):
        client = await clients.GetClient(client_pb.GetClientRequest(id=listed.id))
    assert json_format.MessageToDict(client)["customFields"] == {"hair_length": "Long", "mobile": "+4930901820"}


async def test_a_blocked_client_is_refused_and_a_time_not_offered_is_never_asked(
    public: pb_grpc.PublicRequestServiceStub,
    clients: client_grpc.ClientRecordsStub,
    page: Page,
    engine: AsyncEngine,
    portal_requests_settings: PortalRequestsSettings,
) -> None:
    email = f"blocked-{uuid.uuid4().hex[:8]}@example.com"
    with bind_call_context(page.staff()):
        known = await clients.CreateClient(client_pb.CreateClientRequest(first_name="Bo", email=email))
        await clients.SetOnlineBookingBlocked(client_pb.SetOnlineBookingBlockedRequest(id=known.id, blocked=True))
    started = await ask(public, page, email)
    code = await emailed_code(portal_requests_settings, started.verification_id)
    assert await refusal(confirm(public, page, started.verification_id, code)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "BOOKING_BLOCKED",
        [],
    )
    assert await requests_of(engine, page) == []

    async def verifications() -> int:
        async with engine.connect() as conn:
            count = await conn.scalar(
                text("SELECT count(*) FROM public_requests WHERE tenant_id = :t"), {"t": page.tenant}
            )
        return int(count or 0)

    before = await verifications()
    # 03:00 is outside working hours; an unknown service and a bad address are named.
    assert (await refusal(ask(public, page, "x@example.com", hour=3)))[:2] == (
        grpc.StatusCode.ABORTED,
        "SLOT_UNAVAILABLE",
    )
    assert (await refusal(ask(public, page, "x@example.com", service_id=str(uuid.uuid4()))))[2] == ["service_id"]
    assert (await refusal(ask(public, page, "no-address")))[2] == ["email"]
    assert (await refusal(ask(public, page, "x@example.com", name="")))[2] == ["name"]
    assert await verifications() == before


async def test_old_requests_for_a_code_are_forgotten(
    public: pb_grpc.PublicRequestServiceStub,
    page: Page,
    engine: AsyncEngine,
    portal_requests_settings: PortalRequestsSettings,
    client_channel: grpc.aio.Channel,
    scheduling_channel: grpc.aio.Channel,
) -> None:
    started = await ask(public, page, f"old-{uuid.uuid4().hex[:8]}@example.com")
    uow = SqlAlchemyPortalRequestsUnitOfWork(
        session_factory(engine),
        nats_prefix=portal_requests_settings.nats_prefix,
        ports=grpc_ports(client_channel, scheduling_channel, portal_requests_settings),
    )
    purger = PublicRequestPurger(
        uow,
        kept_for=timedelta(days=30),
        interval_seconds=60,
        batch_size=1,
        clock=lambda: datetime.now(UTC) + timedelta(days=29),
    )
    assert await purger.run_once() == 0
    purger = PublicRequestPurger(
        uow,
        kept_for=timedelta(days=30),
        interval_seconds=60,
        batch_size=1,
        clock=lambda: datetime.now(UTC) + timedelta(days=31),
    )
    assert await purger.run_once() >= 1
    async with engine.connect() as conn:
        left = await conn.scalar(
            text("SELECT count(*) FROM public_requests WHERE id = :id"), {"id": uuid.UUID(started.verification_id)}
        )
    assert left == 0


async def test_the_business_limit_of_active_bookings_holds_for_public_requests(
    public: pb_grpc.PublicRequestServiceStub,
    clients: client_grpc.ClientRecordsStub,
    scheduling_channel: grpc.aio.Channel,
    page: Page,
    engine: AsyncEngine,
    portal_requests_settings: PortalRequestsSettings,
) -> None:
    catalogue = cat_grpc.CatalogueServiceStub(scheduling_channel)
    email = f"busy-{uuid.uuid4().hex[:8]}@example.com"
    with bind_call_context(page.staff()):
        settings = await catalogue.GetSchedulingSettings(cat.GetSchedulingSettingsRequest())
        settings.max_active_bookings_per_client = 1
        await catalogue.UpdateSchedulingSettings(settings)
        known = await clients.CreateClient(client_pb.CreateClientRequest(first_name="Busy", email=email))
        await appointments_grpc.AppointmentServiceStub(scheduling_channel).BookAppointment(
            appointments_pb.BookAppointmentRequest(
                client_id=known.id,
                segments=[appointments_pb.SegmentRequest(service_id=page.service_id)],
                start=timestamp(page.at(15)),
            )
        )
    started = await ask(public, page, email)
    code = await emailed_code(portal_requests_settings, started.verification_id)
    assert await refusal(confirm(public, page, started.verification_id, code)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "MAX_ACTIVE_BOOKINGS",
        [],
    )
    assert await requests_of(engine, page) == []
