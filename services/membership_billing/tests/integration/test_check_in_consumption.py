"""The check-in's consumption against real PostgreSQL (and the client and scheduling services): which lot pays
at a given moment (first-expiring first; not yet started, expired and frozen lots never), tolerance days, the
race for the last units, who the ledger vouches for without asking the client service, an appointment's one
consumption, and the visit's points and events in the check-in's transaction."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta

import grpc
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from atrium.client.v1 import client_service_pb2 as client_pb
from atrium.client.v1 import client_service_pb2_grpc as client_grpc
from atrium.membership_billing.v1 import ledger_pb2 as pb
from atrium.membership_billing.v1 import ledger_pb2_grpc as pb_grpc
from atrium.membership_billing.v1 import memberships_pb2 as memberships_pb
from atrium.membership_billing.v1 import memberships_pb2_grpc as memberships_grpc
from atrium.membership_billing.v1 import packages_pb2 as packages_pb
from atrium.membership_billing.v1 import packages_pb2_grpc as packages_grpc
from atrium.scheduling.v1 import catalogue_pb2_grpc as cat_grpc
from membership_billing_svc.adapters.business_calendar import GrpcBusinessCalendar
from membership_billing_svc.adapters.client_directory import GrpcClientDirectory
from membership_billing_svc.config import BillingSettings
from membership_billing_svc.domain import commands
from membership_billing_svc.domain.consumption import CheckIn, CheckInMethod, visit_key
from membership_billing_svc.domain.ledger import LedgerTransaction
from membership_billing_svc.service_layer import ledger_handlers
from membership_billing_svc.service_layer.unit_of_work import BillingUnitOfWork, SqlAlchemyBillingUnitOfWork
from platform_core.db import create_engine, session_factory
from platform_core.errors import FailedPrecondition
from platform_core.grpc.context import CallContext, Principal, bind_call_context
from platform_dev.testing.plugin import wait_until

UnitFactory = Callable[[], BillingUnitOfWork]


def staff(tenant: uuid.UUID) -> CallContext:
    return CallContext(tenant, Principal("staff", str(uuid.uuid4()), "owner"))


@pytest.fixture
def ledger(billing_channel: grpc.aio.Channel) -> pb_grpc.LedgerServiceStub:
    return pb_grpc.LedgerServiceStub(billing_channel)


@pytest.fixture
def clients(billing_client_channel: grpc.aio.Channel) -> client_grpc.ClientRecordsStub:
    return client_grpc.ClientRecordsStub(billing_client_channel)


@pytest.fixture
async def engine(billing_settings: BillingSettings) -> AsyncIterator[AsyncEngine]:
    created = create_engine(billing_settings.database_url(billing_settings.unit))
    yield created
    await created.dispose()


@pytest.fixture
def units(
    engine: AsyncEngine,
    billing_settings: BillingSettings,
    clients: client_grpc.ClientRecordsStub,
    billing_scheduling_channel: grpc.aio.Channel,
) -> UnitFactory:
    """Units of work as the service builds them, for calling the handlers at a chosen moment."""
    sessions = session_factory(engine)
    directory = GrpcClientDirectory(clients)
    calendar = GrpcBusinessCalendar(cat_grpc.CatalogueServiceStub(billing_scheduling_channel))
    return lambda: SqlAlchemyBillingUnitOfWork(
        sessions, nats_prefix=billing_settings.nats_prefix, client_directory=directory, business_calendar=calendar
    )


async def new_client(clients: client_grpc.ClientRecordsStub, first_name: str) -> str:
    return (await clients.CreateClient(client_pb.CreateClientRequest(first_name=first_name, last_name="Visit"))).id


async def paid_service(ledger: pb_grpc.LedgerServiceStub, *types: pb.CreditType) -> uuid.UUID:
    service_id = uuid.uuid4()
    await ledger.SetServiceCreditRules(
        pb.ServiceCreditRules(
            service_id=str(service_id), rules=[pb.ServiceCreditRule(credit_type_id=t.id, units=1) for t in types]
        )
    )
    return service_id


async def check_in_at(
    units: UnitFactory,
    tenant: uuid.UUID,
    client_id: str,
    service_id: uuid.UUID,
    at: datetime,
    *,
    appointment_id: uuid.UUID | None = None,
) -> tuple[CheckIn, LedgerTransaction | None]:
    cmd = commands.CheckInClient(
        tenant_id=tenant,
        client_id=uuid.UUID(client_id),
        service_id=service_id,
        appointment_id=appointment_id,
        staff_id=None,
        method=CheckInMethod.STAFF.value,
        note="",
        now=at,
    )
    return await ledger_handlers.check_in_client(cmd, units())


def taken_from(transaction: LedgerTransaction | None) -> dict[uuid.UUID, int]:
    assert transaction is not None
    return transaction.taken_per_lot()


async def check_in_rows(engine: AsyncEngine, tenant: uuid.UUID) -> int:
    async with engine.connect() as conn:
        count: int = (
            await conn.execute(text("SELECT count(*) FROM check_ins WHERE tenant_id = :t"), {"t": tenant})
        ).scalar_one()
    return count


async def test_a_check_in_takes_the_first_expiring_lot_usable_at_its_moment(
    ledger: pb_grpc.LedgerServiceStub, clients: client_grpc.ClientRecordsStub, units: UnitFactory, engine: AsyncEngine
) -> None:
    tenant = uuid.uuid4()
    today = datetime.now(UTC).date()  # the business's zone is not set: UTC
    with bind_call_context(staff(tenant)):
        client_id = await new_client(clients, "Ada")
        massage = await ledger.CreateCreditType(pb.CreateCreditTypeRequest(name="Massage", unit="session"))
        wallet = await ledger.CreateCreditType(pb.CreateCreditTypeRequest(name="Wallet", unit="session"))
        service_id = await paid_service(ledger, massage, wallet)

        async def charge(type_id: str, *, starts: date | None = None, last: date | None = None) -> uuid.UUID:
            lot = await ledger.ChargeCredits(
                pb.ChargeCreditsRequest(
                    client_id=client_id,
                    credit_type_id=type_id,
                    amount=1,
                    starts_on=starts.isoformat() if starts else "",
                    expires_on=last.isoformat() if last else "",
                )
            )
            return uuid.UUID(lot.id)

        forever = await charge(massage.id)
        later = await charge(wallet.id, starts=today + timedelta(days=5), last=today + timedelta(days=20))
        soon = await charge(massage.id, last=today + timedelta(days=10))
        early = await charge(wallet.id, last=today + timedelta(days=30))

        now = datetime.now(UTC)
        # Across both types that pay: the lot expiring first, then the next; the one not started yet waits.
        assert taken_from((await check_in_at(units, tenant, client_id, service_id, now))[1]) == {soon: 1}
        assert taken_from((await check_in_at(units, tenant, client_id, service_id, now))[1]) == {early: 1}
        assert taken_from((await check_in_at(units, tenant, client_id, service_id, now))[1]) == {forever: 1}
        with pytest.raises(FailedPrecondition):
            await check_in_at(units, tenant, client_id, service_id, now)
        # Once started it pays; once expired it pays nothing more.
        with pytest.raises(FailedPrecondition):
            await check_in_at(units, tenant, client_id, service_id, now + timedelta(days=21))
        day_six = now + timedelta(days=6)
        assert taken_from((await check_in_at(units, tenant, client_id, service_id, day_six))[1]) == {later: 1}
    # The refused check-ins left nothing behind.
    assert await check_in_rows(engine, tenant) == 4


async def test_a_frozen_membership_pays_nothing_and_one_in_tolerance_still_pays(
    billing_channel: grpc.aio.Channel,
    ledger: pb_grpc.LedgerServiceStub,
    clients: client_grpc.ClientRecordsStub,
    units: UnitFactory,
) -> None:
    tenant = uuid.uuid4()
    memberships = memberships_grpc.MembershipServiceStub(billing_channel)
    with bind_call_context(staff(tenant)):
        massage = await ledger.CreateCreditType(pb.CreateCreditTypeRequest(name="Massage", unit="session"))
        service_id = await paid_service(ledger, massage)
        package = await packages_grpc.PackageServiceStub(billing_channel).CreatePackage(
            packages_pb.CreatePackageRequest(
                name="Ten massages",
                allocations=[packages_pb.PackageAllocation(credit_type_id=massage.id, amount=10)],
                validity_days=30,
                price_minor=0,
                currency="EUR",
            )
        )
        membership = await memberships.CreateMembership(
            memberships_pb.CreateMembershipRequest(
                name="Gold",
                package_id=package.id,
                duration_count=30,
                duration_unit="day",
                price_minor=9900,
                currency="EUR",
                invoicing="auto",
                payment_terms_days=7,
                tolerance_days=3,
            )
        )
        client_id = await new_client(clients, "Greta")
        subscription = await memberships.Subscribe(
            memberships_pb.SubscribeRequest(membership_id=membership.id, client_id=client_id)
        )
        (lot,) = subscription.credits
        now = datetime.now(UTC)
        # Two days past the membership's expiry, within its three tolerance days: it still pays.
        in_tolerance = datetime.combine(date.fromisoformat(subscription.expires_on), datetime.min.time(), UTC)
        in_tolerance += timedelta(days=2, hours=12)
        assert taken_from((await check_in_at(units, tenant, client_id, service_id, in_tolerance))[1]) == {
            uuid.UUID(lot.id): 1
        }
        await memberships.FreezeSubscription(
            memberships_pb.FreezeSubscriptionRequest(subscription_id=subscription.id, days=10, reason="travel")
        )
        with pytest.raises(FailedPrecondition):
            await check_in_at(units, tenant, client_id, service_id, now)
        await memberships.ResumeSubscription(memberships_pb.ResumeSubscriptionRequest(subscription_id=subscription.id))
        assert taken_from((await check_in_at(units, tenant, client_id, service_id, now))[1]) == {uuid.UUID(lot.id): 1}


async def test_of_sixteen_concurrent_check_ins_for_the_last_two_units_exactly_two_succeed(
    ledger: pb_grpc.LedgerServiceStub, clients: client_grpc.ClientRecordsStub, engine: AsyncEngine
) -> None:
    tenant = uuid.uuid4()
    with bind_call_context(staff(tenant)):
        client_id = await new_client(clients, "Race")
        massage = await ledger.CreateCreditType(pb.CreateCreditTypeRequest(name="Massage", unit="session"))
        service_id = await paid_service(ledger, massage)
        # Two lots of one: the second taker of the first lot must move on to the other, not overdraw it.
        for last in (datetime.now(UTC).date() + timedelta(days=3), None):
            await ledger.ChargeCredits(
                pb.ChargeCreditsRequest(
                    client_id=client_id,
                    credit_type_id=massage.id,
                    amount=1,
                    expires_on=last.isoformat() if last else "",
                )
            )

        async def check_in() -> grpc.StatusCode:
            try:
                await ledger.CheckIn(pb.CheckInRequest(client_id=client_id, service_id=str(service_id)))
            except grpc.aio.AioRpcError as exc:
                return exc.code()
            return grpc.StatusCode.OK

        outcomes = await asyncio.gather(*(check_in() for _ in range(16)))
        assert outcomes.count(grpc.StatusCode.OK) == 2
        assert set(outcomes) == {grpc.StatusCode.OK, grpc.StatusCode.FAILED_PRECONDITION}
        balances = await ledger.GetCreditBalances(pb.GetCreditBalancesRequest(client_id=client_id))
        assert sum(b.balance for b in balances.balances) == 0
    assert await check_in_rows(engine, tenant) == 2


async def test_the_ledger_vouches_only_for_its_own_clients_and_asks_about_any_other(
    ledger: pb_grpc.LedgerServiceStub,
    clients: client_grpc.ClientRecordsStub,
    billing_client_channel: grpc.aio.Channel,
    engine: AsyncEngine,
) -> None:
    tenant, other_tenant = uuid.uuid4(), uuid.uuid4()
    with bind_call_context(staff(other_tenant)):
        stranger = await new_client(clients, "Stranger")
        theirs = await ledger.CreateCreditType(pb.CreateCreditTypeRequest(name="Massage", unit="session"))
        await ledger.ChargeCredits(pb.ChargeCreditsRequest(client_id=stranger, credit_type_id=theirs.id, amount=5))
    with bind_call_context(staff(tenant)):
        massage = await ledger.CreateCreditType(pb.CreateCreditTypeRequest(name="Massage", unit="session"))
        service_id = str(await paid_service(ledger, massage))
        # Another business's client, even one holding credits there, and nobody at all: not a client here.
        for client_id in (stranger, str(uuid.uuid4())):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await ledger.CheckIn(pb.CheckInRequest(client_id=client_id, service_id=service_id))
            assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        # A client holding nothing: too few credits.
        empty = await new_client(clients, "Empty")
        with pytest.raises(grpc.aio.AioRpcError) as short:
            await ledger.CheckIn(pb.CheckInRequest(client_id=empty, service_id=service_id))
        assert short.value.code() is grpc.StatusCode.FAILED_PRECONDITION

        # A merged-away id checks its survivor in, with the survivor's credits (the merged one holds none).
        survivor, duplicate = await new_client(clients, "Survivor"), await new_client(clients, "Duplicate")
        await ledger.ChargeCredits(pb.ChargeCreditsRequest(client_id=duplicate, credit_type_id=massage.id, amount=2))
        await client_grpc.ClientMergesStub(billing_client_channel).MergeClients(
            client_pb.MergeClientsRequest(survivor_id=survivor, merged_ids=[duplicate])
        )

        async def moved() -> bool:
            reply = await ledger.GetCreditBalances(pb.GetCreditBalancesRequest(client_id=survivor))
            return sum(b.balance for b in reply.balances) == 2

        await wait_until(moved)
        record = await ledger.CheckIn(pb.CheckInRequest(client_id=duplicate, service_id=service_id))
        assert (record.client_id, record.transaction.client_change) == (survivor, -1)
    with bind_call_context(staff(other_tenant)):
        reply = await ledger.GetCreditBalances(pb.GetCreditBalancesRequest(client_id=stranger))
        assert sum(b.balance for b in reply.balances) == 5
    assert await check_in_rows(engine, other_tenant) == 0


async def test_an_appointments_visit_is_consumed_once_whichever_comes_first(
    ledger: pb_grpc.LedgerServiceStub, clients: client_grpc.ClientRecordsStub, units: UnitFactory
) -> None:
    tenant = uuid.uuid4()
    with bind_call_context(staff(tenant)):
        client_id = await new_client(clients, "Booked")
        massage = await ledger.CreateCreditType(pb.CreateCreditTypeRequest(name="Massage", unit="session"))
        service_id = await paid_service(ledger, massage)
        await ledger.ChargeCredits(pb.ChargeCreditsRequest(client_id=client_id, credit_type_id=massage.id, amount=5))
        now = datetime.now(UTC)
        checked_in = uuid.uuid4()
        _, first = await check_in_at(units, tenant, client_id, service_id, now, appointment_id=checked_in)
        assert first is not None
        # The appointment's completion then takes nothing more.
        completion = commands.ConsumeForVisit(
            tenant, uuid.UUID(client_id), service_id, visit_key(checked_in, service_id), "", now
        )
        replayed = await ledger_handlers.consume_for_visit(completion, units())
        assert replayed is not None and replayed.id == first.id
        # Completed first, checked in after: the check-in records the attendance with the completion's use.
        completed = uuid.uuid4()
        used = await ledger_handlers.consume_for_visit(
            commands.ConsumeForVisit(
                tenant, uuid.UUID(client_id), service_id, visit_key(completed, service_id), "", now
            ),
            units(),
        )
        assert used is not None
        check_in, again = await check_in_at(units, tenant, client_id, service_id, now, appointment_id=completed)
        assert again is not None and (again.id, check_in.transaction_id) == (used.id, used.id)
        balances = await ledger.GetCreditBalances(pb.GetCreditBalancesRequest(client_id=client_id))
        assert sum(b.balance for b in balances.balances) == 3


async def test_a_visit_earns_its_points_and_raises_its_events_in_the_check_ins_transaction(
    billing_channel: grpc.aio.Channel,
    ledger: pb_grpc.LedgerServiceStub,
    clients: client_grpc.ClientRecordsStub,
    engine: AsyncEngine,
) -> None:
    tenant = uuid.uuid4()
    with bind_call_context(staff(tenant)):
        client_id = await new_client(clients, "Loyal")
        massage = await ledger.CreateCreditType(pb.CreateCreditTypeRequest(name="Massage", unit="session"))
        points = await ledger.CreateCreditType(pb.CreateCreditTypeRequest(name="Points", unit="point"))
        service_id = str(await paid_service(ledger, massage))
        await ledger.ChargeCredits(pb.ChargeCreditsRequest(client_id=client_id, credit_type_id=massage.id, amount=1))
        await memberships_grpc.MembershipServiceStub(billing_channel).SetLoyaltyProgram(
            memberships_pb.LoyaltyProgram(points_credit_type_id=points.id, points_per_visit=5, validity_days=30)
        )
        record = await ledger.CheckIn(pb.CheckInRequest(client_id=client_id, service_id=service_id))
        with pytest.raises(grpc.aio.AioRpcError):
            await ledger.CheckIn(pb.CheckInRequest(client_id=client_id, service_id=service_id))
        reply = await ledger.GetCreditBalances(pb.GetCreditBalancesRequest(client_id=client_id))
        held = {b.credit_type.id: b.balance for b in reply.balances}
        assert (held.get(massage.id, 0), held[points.id]) == (0, 5)
        (earned,) = [b for b in reply.balances if b.credit_type.id == points.id]
        expiry = datetime.combine(datetime.now(UTC).date() + timedelta(days=30), datetime.min.time(), UTC)
        assert [lot.expires_at.ToDatetime(tzinfo=UTC) for lot in earned.lots] == [expiry]
    async with engine.connect() as conn:
        subjects = (
            await conn.execute(text("SELECT subject FROM outbox WHERE tenant_id = :t"), {"t": tenant})
        ).scalars()
        raised = Counter(s.rsplit(".", 1)[1] for s in subjects)
    # One check-in's events (the refused second one raised nothing); the points came as a charge of their own
    # beside the sessions' charge.
    assert {kind: raised[kind] for kind in ("CheckedIn", "CreditsUsed", "PointsEarned", "CreditsCharged")} == {
        "CheckedIn": 1,
        "CreditsUsed": 1,
        "PointsEarned": 1,
        "CreditsCharged": 2,
    }
    assert record.transaction.client_change == -1
