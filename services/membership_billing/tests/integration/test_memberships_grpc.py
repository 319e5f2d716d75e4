"""Memberships over gRPC against real PostgreSQL: registering issues the invoice and charges the period's credits
once per request id; a freeze moves the expiry and the credits' expiries and nothing is taken meanwhile (the
schema refuses it too); a resume gives back the unused days; a renewal adds a period with its invoice and
credits; a cancellation ends the credits; the calendar's review (two replicas at once) expires and renews
once; events leave through the outbox."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import grpc
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from atrium.client.v1 import client_service_pb2 as client_pb
from atrium.client.v1 import client_service_pb2_grpc as client_grpc
from atrium.membership_billing.v1 import billing_pb2 as billing_pb
from atrium.membership_billing.v1 import billing_pb2_grpc as billing_grpc
from atrium.membership_billing.v1 import ledger_pb2 as ledger_pb
from atrium.membership_billing.v1 import ledger_pb2_grpc as ledger_grpc
from atrium.membership_billing.v1 import memberships_pb2 as pb
from atrium.membership_billing.v1 import memberships_pb2_grpc as pb_grpc
from atrium.membership_billing.v1 import packages_pb2 as packages_pb
from atrium.membership_billing.v1 import packages_pb2_grpc as packages_grpc
from atrium.scheduling.v1.catalogue_pb2_grpc import CatalogueServiceStub
from membership_billing_svc.adapters.business_calendar import GrpcBusinessCalendar
from membership_billing_svc.adapters.client_directory import GrpcClientDirectory
from membership_billing_svc.config import BillingSettings
from membership_billing_svc.domain import commands
from membership_billing_svc.service_layer.membership_handlers import review_subscriptions
from membership_billing_svc.service_layer.unit_of_work import SqlAlchemyBillingUnitOfWork
from platform_core.db import create_engine, session_factory
from platform_core.grpc.context import CallContext, Principal, bind_call_context
from platform_core.grpc.values import aware


def staff(tenant: uuid.UUID) -> CallContext:
    return CallContext(tenant, Principal("staff", str(uuid.uuid4()), "owner"))


@pytest.fixture
def memberships(billing_channel: grpc.aio.Channel) -> pb_grpc.MembershipServiceStub:
    return pb_grpc.MembershipServiceStub(billing_channel)


@pytest.fixture
def ledger(billing_channel: grpc.aio.Channel) -> ledger_grpc.LedgerServiceStub:
    return ledger_grpc.LedgerServiceStub(billing_channel)


@pytest.fixture
def billing(billing_channel: grpc.aio.Channel) -> billing_grpc.BillingServiceStub:
    return billing_grpc.BillingServiceStub(billing_channel)


@pytest.fixture
def clients(billing_client_channel: grpc.aio.Channel) -> client_grpc.ClientRecordsStub:
    return client_grpc.ClientRecordsStub(billing_client_channel)


@pytest.fixture
async def engine(billing_settings: BillingSettings) -> AsyncIterator[AsyncEngine]:
    created = create_engine(billing_settings.database_url(billing_settings.unit))
    yield created
    await created.dispose()


async def gold(
    billing_channel: grpc.aio.Channel, *, tolerance: int = 3, auto_renew: bool = False, invoicing: str = "auto"
) -> tuple[pb.Membership, str]:
    ledger = ledger_grpc.LedgerServiceStub(billing_channel)
    massage = await ledger.CreateCreditType(ledger_pb.CreateCreditTypeRequest(name="Massage 60", unit="session"))
    package = await packages_grpc.PackageServiceStub(billing_channel).CreatePackage(
        packages_pb.CreatePackageRequest(
            name="Ten massages",
            allocations=[packages_pb.PackageAllocation(credit_type_id=massage.id, amount=10)],
            validity_days=30,
            price_minor=0,
            currency="EUR",
        )
    )
    membership = await pb_grpc.MembershipServiceStub(billing_channel).CreateMembership(
        pb.CreateMembershipRequest(
            name="Gold",
            package_id=package.id,
            duration_count=30,
            duration_unit="day",
            price_minor=9900,
            currency="EUR",
            invoicing=invoicing,
            payment_terms_days=7,
            tolerance_days=tolerance,
            auto_renew=auto_renew,
            expiring_notice_days=7,
            extras=[pb.MembershipExtra(description="Joining fee", price_minor=2500)],
        )
    )
    return membership, massage.id


async def new_client(clients: client_grpc.ClientRecordsStub, name: str) -> str:
    return (await clients.CreateClient(client_pb.CreateClientRequest(first_name=name, last_name="Member"))).id


async def use_one(ledger: ledger_grpc.LedgerServiceStub, client_id: str, type_id: str) -> ledger_pb.LedgerTransaction:
    return await ledger.UseCredits(ledger_pb.UseCreditsRequest(client_id=client_id, credit_type_id=type_id, amount=1))


async def events_of(engine: AsyncEngine, tenant: uuid.UUID) -> list[str]:
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT subject FROM outbox WHERE tenant_id = :t AND subject LIKE '%Membership%' ORDER BY id"),
                {"t": tenant},
            )
        ).all()
    return [r.subject.rsplit(".", 1)[1] for r in rows]


async def test_register_freeze_resume_renew_and_cancel_move_the_credits_with_the_subscription(
    billing_channel: grpc.aio.Channel,
    memberships: pb_grpc.MembershipServiceStub,
    ledger: ledger_grpc.LedgerServiceStub,
    billing: billing_grpc.BillingServiceStub,
    clients: client_grpc.ClientRecordsStub,
    engine: AsyncEngine,
) -> None:
    tenant = uuid.uuid4()
    with bind_call_context(staff(tenant)):
        membership, massage = await gold(billing_channel)
        assert [m.id for m in (await memberships.ListMemberships(pb.ListMembershipsRequest())).memberships] == [
            membership.id
        ]
        client_id = await new_client(clients, "Greta")
        request = pb.SubscribeRequest(membership_id=membership.id, client_id=client_id, request_id="join-1")
        replies = await asyncio.gather(*(memberships.Subscribe(request) for _ in range(3)))
        assert len({r.id for r in replies}) == 1
        subscription = replies[0]
        today = datetime.now(UTC).date()  # the business's zone is not set: UTC
        assert (subscription.status, subscription.starts_on, subscription.expires_on, subscription.tolerance_until) == (
            "active",
            today.isoformat(),
            (today + timedelta(days=29)).isoformat(),
            (today + timedelta(days=32)).isoformat(),
        )
        invoice = await billing.GetInvoice(billing_pb.GetInvoiceRequest(invoice_id=subscription.invoice_id))
        assert (invoice.status, invoice.total_minor, invoice.number) == ("issued", 12400, 1)
        (lot,) = subscription.credits
        tolerance_end = datetime.combine(today + timedelta(days=33), datetime.min.time(), tzinfo=UTC)
        assert (lot.amount, lot.remaining, aware(lot.expires_at)) == (10, 10, tolerance_end)

        await use_one(ledger, client_id, massage)
        frozen = await memberships.FreezeSubscription(
            pb.FreezeSubscriptionRequest(subscription_id=subscription.id, days=10, reason="travel")
        )
        assert (frozen.status, frozen.expires_on, frozen.frozen_until) == (
            "frozen",
            (today + timedelta(days=39)).isoformat(),
            (today + timedelta(days=10)).isoformat(),
        )
        assert aware(frozen.credits[0].expires_at) == tolerance_end + timedelta(days=10)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await use_one(ledger, client_id, massage)
        assert refused.value.code() is grpc.StatusCode.FAILED_PRECONDITION

        # The schema refuses it too, whatever the code does.
        async with engine.begin() as conn:
            with pytest.raises(DBAPIError, match="membership is frozen"):
                transaction_id = (
                    await conn.execute(
                        text(
                            "INSERT INTO ledger_transactions (tenant_id, id, kind, effective_at, recorded_at)"
                            " VALUES (:t, gen_random_uuid(), 'use', now(), now()) RETURNING id"
                        ),
                        {"t": tenant},
                    )
                ).scalar_one()
                await conn.execute(
                    text(
                        "INSERT INTO ledger_entries (tenant_id, transaction_id, lot_id, account, amount, effective_at,"
                        " kind) VALUES (:t, :x, :l, 'client', -1, now(), 'use')"
                    ),
                    {"t": tenant, "x": transaction_id, "l": uuid.UUID(frozen.credits[0].id)},
                )
        resumed = await memberships.ResumeSubscription(pb.ResumeSubscriptionRequest(subscription_id=subscription.id))
        assert (resumed.status, resumed.expires_on, resumed.frozen_until) == ("active", subscription.expires_on, "")
        assert aware(resumed.credits[0].expires_at) == tolerance_end
        await use_one(ledger, client_id, massage)

        renew = pb.RenewSubscriptionRequest(subscription_id=subscription.id, request_id="renew-1")
        renewed = await memberships.RenewSubscription(renew)
        assert (await memberships.RenewSubscription(renew)).periods == renewed.periods
        assert [(p.kind, p.starts_on) for p in renewed.periods] == [
            ("register", today.isoformat()),
            ("renew", (today + timedelta(days=30)).isoformat()),
        ]
        assert renewed.expires_on == (today + timedelta(days=59)).isoformat()
        assert sorted(c.remaining for c in renewed.credits) == [8, 10]
        second = await billing.GetInvoice(billing_pb.GetInvoiceRequest(invoice_id=renewed.invoice_id))
        assert (second.total_minor, second.number) == (9900, 2)

        cancelled = await memberships.CancelSubscription(
            pb.CancelSubscriptionRequest(subscription_id=subscription.id, reason="moving away")
        )
        assert (cancelled.status, cancelled.auto_renew) == ("cancelled", False)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await use_one(ledger, client_id, massage)
        assert refused.value.code() is grpc.StatusCode.FAILED_PRECONDITION
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await memberships.RenewSubscription(pb.RenewSubscriptionRequest(subscription_id=subscription.id))
        assert refused.value.code() is grpc.StatusCode.FAILED_PRECONDITION

        listed = await memberships.ListSubscriptions(pb.ListSubscriptionsRequest(client_id=client_id))
        assert [s.id for s in listed.subscriptions] == [subscription.id]

    assert await events_of(engine, tenant) == [
        "MembershipActivated",
        "MembershipFrozen",
        "MembershipResumed",
        "MembershipRenewed",
        "MembershipCancelled",
    ]
    # The schema refuses a status a subscription may not take, whatever the code does.
    async with engine.begin() as conn:
        with pytest.raises(DBAPIError, match="does not go from cancelled to active"):
            await conn.execute(text("UPDATE subscriptions SET status = 'active' WHERE tenant_id = :t"), {"t": tenant})


async def test_a_portal_client_sees_its_own_subscriptions_and_another_clients_look_missing(
    billing_channel: grpc.aio.Channel,
    memberships: pb_grpc.MembershipServiceStub,
    clients: client_grpc.ClientRecordsStub,
) -> None:
    tenant = uuid.uuid4()
    with bind_call_context(staff(tenant)):
        membership, _ = await gold(billing_channel)
        mine = await new_client(clients, "Mine")
        theirs = await new_client(clients, "Theirs")
        own = await memberships.Subscribe(pb.SubscribeRequest(membership_id=membership.id, client_id=mine))
        other = await memberships.Subscribe(pb.SubscribeRequest(membership_id=membership.id, client_id=theirs))
    with bind_call_context(CallContext(tenant, Principal("portal", str(uuid.uuid4()), "", mine))):
        listed = await memberships.ListSubscriptions(pb.ListSubscriptionsRequest())
        assert [s.id for s in listed.subscriptions] == [own.id] and listed.subscriptions[0].credits[0].remaining == 10
        for call in (
            memberships.GetSubscription(pb.GetSubscriptionRequest(subscription_id=other.id)),
            memberships.ListSubscriptions(pb.ListSubscriptionsRequest(client_id=theirs)),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await call
            assert refused.value.code() is grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await memberships.FreezeSubscription(pb.FreezeSubscriptionRequest(subscription_id=own.id, days=3))
        assert refused.value.code() is grpc.StatusCode.PERMISSION_DENIED


async def test_the_review_expires_after_tolerance_and_renews_automatically_once_with_two_replicas(
    billing_channel: grpc.aio.Channel,
    billing_client_channel: grpc.aio.Channel,
    billing_scheduling_channel: grpc.aio.Channel,
    billing_settings: BillingSettings,
    memberships: pb_grpc.MembershipServiceStub,
    clients: client_grpc.ClientRecordsStub,
    engine: AsyncEngine,
) -> None:
    tenant = uuid.uuid4()
    with bind_call_context(staff(tenant)):
        plain, _ = await gold(billing_channel, tolerance=3)
        client_id = await new_client(clients, "Rita")
        lapsing = await memberships.Subscribe(pb.SubscribeRequest(membership_id=plain.id, client_id=client_id))
        renewing = await memberships.Subscribe(pb.SubscribeRequest(membership_id=plain.id, client_id=client_id))
        await memberships.SetAutoRenew(pb.SetAutoRenewRequest(subscription_id=renewing.id, auto_renew=True))

    sessions = session_factory(engine)
    directory = GrpcClientDirectory(client_grpc.ClientRecordsStub(billing_client_channel))
    calendar = GrpcBusinessCalendar(CatalogueServiceStub(billing_scheduling_channel))

    async def review_at(day: date) -> int:
        now = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=1)
        with bind_call_context(CallContext(tenant, Principal.service("membership_billing"))):
            reviewed = await asyncio.gather(
                *(
                    review_subscriptions(
                        commands.ReviewSubscriptions(tenant, now, 50),
                        SqlAlchemyBillingUnitOfWork(
                            sessions,
                            nats_prefix=billing_settings.nats_prefix,
                            client_directory=directory,
                            business_calendar=calendar,
                        ),
                    )
                    for _ in range(2)
                )
            )
        return sum(reviewed)

    expires_on = date.fromisoformat(lapsing.expires_on)
    await review_at(expires_on - timedelta(days=7))
    await review_at(expires_on + timedelta(days=1))
    with bind_call_context(staff(tenant)):
        in_tolerance = await memberships.GetSubscription(pb.GetSubscriptionRequest(subscription_id=lapsing.id))
        renewed = await memberships.GetSubscription(pb.GetSubscriptionRequest(subscription_id=renewing.id))
    assert in_tolerance.status == "tolerance"
    assert (renewed.status, len(renewed.periods), renewed.expires_on) == (
        "active",
        2,
        (expires_on + timedelta(days=30)).isoformat(),
    )
    await review_at(expires_on + timedelta(days=4))
    with bind_call_context(staff(tenant)):
        expired = await memberships.GetSubscription(pb.GetSubscriptionRequest(subscription_id=lapsing.id))
    assert expired.status == "expired"
    assert await events_of(engine, tenant) == [
        "MembershipActivated",
        "MembershipActivated",
        "MembershipExpiring",
        "MembershipRenewed",
        "MembershipExpired",
    ]
