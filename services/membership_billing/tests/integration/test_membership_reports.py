"""Membership reports, frozen credits in balances and clients' own cancellations, over gRPC against real
PostgreSQL: the report counts new, renewed, expiring, expired and frozen subscriptions per day and month with
what they invoiced (a resumed freeze still counts, a cancelled one is not expiring, drafts invoice nothing),
and shows a tenant nothing of another; a frozen subscription's credits stay in the balance, shown apart; a
portal client cancels its own subscription only once the business allows it, never another's."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import grpc
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from atrium.client.v1 import client_service_pb2 as client_pb
from atrium.client.v1 import client_service_pb2_grpc as client_grpc
from atrium.common.v1.events_pb2 import EventEnvelope
from atrium.membership_billing.v1 import billing_reports_pb2 as reports_pb
from atrium.membership_billing.v1 import billing_reports_pb2_grpc as reports_grpc
from atrium.membership_billing.v1 import events_pb2 as events_pb
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


def staff(tenant: uuid.UUID) -> CallContext:
    return CallContext(tenant, Principal("staff", str(uuid.uuid4()), "owner"))


def portal(tenant: uuid.UUID, client_id: str) -> CallContext:
    return CallContext(tenant, Principal("portal", str(uuid.uuid4()), "", client_id))


@pytest.fixture
async def engine(billing_settings: BillingSettings) -> AsyncIterator[AsyncEngine]:
    created = create_engine(billing_settings.database_url(billing_settings.unit))
    yield created
    await created.dispose()


@pytest.fixture
def memberships(billing_channel: grpc.aio.Channel) -> pb_grpc.MembershipServiceStub:
    return pb_grpc.MembershipServiceStub(billing_channel)


@pytest.fixture
def reports(billing_channel: grpc.aio.Channel) -> reports_grpc.BillingReportServiceStub:
    return reports_grpc.BillingReportServiceStub(billing_channel)


@pytest.fixture
def ledger(billing_channel: grpc.aio.Channel) -> ledger_grpc.LedgerServiceStub:
    return ledger_grpc.LedgerServiceStub(billing_channel)


@pytest.fixture
def clients(billing_client_channel: grpc.aio.Channel) -> client_grpc.ClientRecordsStub:
    return client_grpc.ClientRecordsStub(billing_client_channel)


async def define(billing_channel: grpc.aio.Channel) -> tuple[pb.Membership, pb.Membership]:
    """Gold: ten sessions for 30 days, invoiced at once (99.00 and a 25.00 joining fee), no tolerance. Silver:
    benefits alone, its invoices left as drafts."""
    massage = await ledger_grpc.LedgerServiceStub(billing_channel).CreateCreditType(
        ledger_pb.CreateCreditTypeRequest(name="Massage 60", unit="session")
    )
    package = await packages_grpc.PackageServiceStub(billing_channel).CreatePackage(
        packages_pb.CreatePackageRequest(
            name="Ten massages",
            allocations=[packages_pb.PackageAllocation(credit_type_id=massage.id, amount=10)],
            validity_days=30,
            price_minor=0,
            currency="EUR",
        )
    )
    stub = pb_grpc.MembershipServiceStub(billing_channel)
    gold = await stub.CreateMembership(
        pb.CreateMembershipRequest(
            name="Gold",
            package_id=package.id,
            duration_count=30,
            duration_unit="day",
            price_minor=9900,
            currency="EUR",
            invoicing="auto",
            payment_terms_days=7,
            tolerance_days=0,
            expiring_notice_days=7,
            extras=[pb.MembershipExtra(description="Joining fee", price_minor=2500)],
        )
    )
    silver = await stub.CreateMembership(
        pb.CreateMembershipRequest(
            name="Silver",
            benefits="Sauna on weekdays",
            duration_count=1,
            duration_unit="month",
            price_minor=5000,
            currency="EUR",
            invoicing="draft",
            payment_terms_days=7,
            expiring_notice_days=7,
        )
    )
    return gold, silver


async def new_client(clients: client_grpc.ClientRecordsStub, name: str) -> str:
    return (await clients.CreateClient(client_pb.CreateClientRequest(first_name=name, last_name="Member"))).id


def counts(row: reports_pb.MembershipReportRow) -> tuple[int, int, int, int, int, int]:
    return (row.new_subscriptions, row.renewed, row.expiring, row.expired, row.frozen, row.invoiced_minor)


async def test_the_report_counts_each_kind_of_movement_per_period_and_membership(
    billing_channel: grpc.aio.Channel,
    billing_client_channel: grpc.aio.Channel,
    billing_scheduling_channel: grpc.aio.Channel,
    billing_settings: BillingSettings,
    engine: AsyncEngine,
    memberships: pb_grpc.MembershipServiceStub,
    reports: reports_grpc.BillingReportServiceStub,
    ledger: ledger_grpc.LedgerServiceStub,
    clients: client_grpc.ClientRecordsStub,
) -> None:
    tenant = uuid.uuid4()
    today = datetime.now(UTC).date()  # the business's zone is not set: UTC
    with bind_call_context(staff(tenant)):
        gold, silver = await define(billing_channel)
        subscribed = {}
        for name in ("Anna", "Bert", "Cleo", "Dora"):
            client_id = await new_client(clients, name)
            subscribed[name] = await memberships.Subscribe(
                pb.SubscribeRequest(membership_id=gold.id, client_id=client_id)
            )
        sauna = await memberships.Subscribe(
            pb.SubscribeRequest(membership_id=silver.id, client_id=await new_client(clients, "Emil"))
        )
        await memberships.CancelSubscription(pb.CancelSubscriptionRequest(subscription_id=sauna.id))

        # A frozen subscription's credits stay in the balance, shown apart from what can be used now.
        bert = subscribed["Bert"]
        await memberships.FreezeSubscription(pb.FreezeSubscriptionRequest(subscription_id=bert.id, days=10))
        (frozen,) = (
            await ledger.GetCreditBalances(ledger_pb.GetCreditBalancesRequest(client_id=bert.client_id))
        ).balances
        assert (frozen.balance, frozen.frozen, frozen.available) == (10, 10, 0)
        await memberships.ResumeSubscription(pb.ResumeSubscriptionRequest(subscription_id=bert.id))
        (resumed,) = (
            await ledger.GetCreditBalances(ledger_pb.GetCreditBalancesRequest(client_id=bert.client_id))
        ).balances
        assert (resumed.balance, resumed.frozen, resumed.available) == (10, 0, 10)

        await memberships.RenewSubscription(pb.RenewSubscriptionRequest(subscription_id=subscribed["Cleo"].id))

    # The calendar's review, the day after the last paid day, expires the ones not renewed.
    expires_on = date.fromisoformat(subscribed["Anna"].expires_on)
    review_at = datetime.combine(expires_on + timedelta(days=1), datetime.min.time(), UTC) + timedelta(hours=1)
    with bind_call_context(CallContext(tenant, Principal.service("membership_billing"))):
        await review_subscriptions(
            commands.ReviewSubscriptions(tenant, review_at, 50),
            SqlAlchemyBillingUnitOfWork(
                session_factory(engine),
                nats_prefix=billing_settings.nats_prefix,
                client_directory=GrpcClientDirectory(client_grpc.ClientRecordsStub(billing_client_channel)),
                business_calendar=GrpcBusinessCalendar(CatalogueServiceStub(billing_scheduling_channel)),
            ),
        )

    with bind_call_context(staff(tenant)):
        by_day = await reports.MembershipReport(
            reports_pb.MembershipReportRequest(
                from_day=today.isoformat(), to_day=(today + timedelta(days=90)).isoformat(), period="day"
            )
        )
        by_month = await reports.MembershipReport(
            reports_pb.MembershipReportRequest(
                from_day=today.isoformat(), to_day=(today + timedelta(days=90)).isoformat()
            )
        )
    renewal_starts = expires_on + timedelta(days=1)
    assert by_day.timezone == "UTC"
    assert [(r.period_start, r.membership_name, counts(r)) for r in by_day.rows] == [
        # Four joined Gold (each 99.00 + 25.00, issued), one of them froze (and resumed); Silver's is a draft.
        (today.isoformat(), "Gold", (4, 0, 0, 0, 1, 4 * 12400)),
        (today.isoformat(), "Silver", (1, 0, 0, 0, 0, 0)),
        # Three lapsed (the cancelled Silver neither expires nor is expiring).
        (expires_on.isoformat(), "Gold", (0, 0, 0, 3, 0, 0)),
        (renewal_starts.isoformat(), "Gold", (0, 1, 0, 0, 0, 9900)),
        ((expires_on + timedelta(days=30)).isoformat(), "Gold", (0, 0, 1, 0, 0, 0)),
    ]
    assert {r.period_start[-2:] for r in by_month.rows} == {"01"}
    assert [(t.membership_name, t.currency, counts(t)) for t in by_month.totals] == [
        ("Gold", "EUR", (4, 1, 1, 3, 1, 4 * 12400 + 9900)),
        ("Silver", "EUR", (1, 0, 0, 0, 0, 0)),
    ]
    assert [(t.membership_name, counts(t)) for t in by_day.totals] == [
        (t.membership_name, counts(t)) for t in by_month.totals
    ]
    # A range of one day sees only that day.
    with bind_call_context(staff(tenant)):
        one_day = await reports.MembershipReport(
            reports_pb.MembershipReportRequest(
                from_day=renewal_starts.isoformat(), to_day=renewal_starts.isoformat(), period="week"
            )
        )
    assert [counts(r) for r in one_day.rows] == [(0, 1, 0, 0, 0, 9900)]

    # Another business sees nothing of these.
    with bind_call_context(staff(uuid.uuid4())):
        elsewhere = await reports.MembershipReport(
            reports_pb.MembershipReportRequest(
                from_day=today.isoformat(), to_day=(today + timedelta(days=90)).isoformat()
            )
        )
    assert (list(elsewhere.rows), list(elsewhere.totals)) == ([], [])


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (reports_pb.MembershipReportRequest(from_day="2026-03-01", to_day="2026-02-28"), "to_day"),
        (reports_pb.MembershipReportRequest(from_day="2026-01-01", to_day="2027-01-03"), "to_day"),
        (reports_pb.MembershipReportRequest(from_day="2026-03-01", to_day="2026-03-31", period="year"), "period"),
        (reports_pb.MembershipReportRequest(from_day="March", to_day="2026-03-31"), "from_day"),
    ],
)
async def test_the_report_refuses_a_range_or_period_it_cannot_cut(
    reports: reports_grpc.BillingReportServiceStub, request_: reports_pb.MembershipReportRequest, field: str
) -> None:
    with bind_call_context(staff(uuid.uuid4())):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await reports.MembershipReport(request_)
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert field in (refused.value.details() or "")


async def cancellations(engine: AsyncEngine, tenant: uuid.UUID) -> list[events_pb.MembershipCancelled]:
    async with engine.connect() as conn:
        rows = (
            await conn.execute(text("SELECT envelope FROM outbox WHERE tenant_id = :t ORDER BY id"), {"t": tenant})
        ).all()
    envelopes = [EventEnvelope.FromString(r.envelope) for r in rows]
    return [
        events_pb.MembershipCancelled.FromString(e.payload.value)
        for e in envelopes
        if e.event_type.endswith("MembershipCancelled")
    ]


async def test_a_portal_client_cancels_its_own_subscription_only_once_the_business_allows_it(
    billing_channel: grpc.aio.Channel,
    engine: AsyncEngine,
    memberships: pb_grpc.MembershipServiceStub,
    reports: reports_grpc.BillingReportServiceStub,
    clients: client_grpc.ClientRecordsStub,
) -> None:
    tenant = uuid.uuid4()
    with bind_call_context(staff(tenant)):
        gold, _ = await define(billing_channel)
        mine = await new_client(clients, "Mine")
        theirs = await new_client(clients, "Theirs")
        own = await memberships.Subscribe(pb.SubscribeRequest(membership_id=gold.id, client_id=mine))
        other = await memberships.Subscribe(pb.SubscribeRequest(membership_id=gold.id, client_id=theirs))
        assert not (await memberships.GetMembershipSettings(pb.GetMembershipSettingsRequest())).clients_may_cancel

    cancel_own = pb.CancelSubscriptionRequest(subscription_id=own.id, reason="moving away")
    with bind_call_context(portal(tenant, mine)):
        assert not (await memberships.GetMembershipSettings(pb.GetMembershipSettingsRequest())).clients_may_cancel
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await memberships.CancelSubscription(cancel_own)
        assert refused.value.code() is grpc.StatusCode.PERMISSION_DENIED
        # Only staff change the settings or read reports.
        for call in (
            memberships.SetMembershipSettings(pb.MembershipSettings(clients_may_cancel=True)),
            reports.MembershipReport(reports_pb.MembershipReportRequest(from_day="2026-01-01", to_day="2026-01-31")),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await call
            assert refused.value.code() is grpc.StatusCode.PERMISSION_DENIED

    with bind_call_context(staff(tenant)):
        settings = await memberships.SetMembershipSettings(pb.MembershipSettings(clients_may_cancel=True))
        assert settings.clients_may_cancel
    with bind_call_context(portal(tenant, mine)):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await memberships.CancelSubscription(pb.CancelSubscriptionRequest(subscription_id=other.id))
        assert refused.value.code() is grpc.StatusCode.NOT_FOUND
        outcomes = await asyncio.gather(
            *(memberships.CancelSubscription(cancel_own) for _ in range(2)), return_exceptions=True
        )
    cancelled = [o for o in outcomes if isinstance(o, pb.Subscription)]
    assert [c.status for c in cancelled] == ["cancelled"]
    (second,) = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
    assert second.code() is grpc.StatusCode.FAILED_PRECONDITION

    with bind_call_context(staff(tenant)):
        untouched = await memberships.GetSubscription(pb.GetSubscriptionRequest(subscription_id=other.id))
    assert untouched.status == "active"
    assert [
        (e.subscription.subscription_id, e.cancelled_by, e.reason) for e in await cancellations(engine, tenant)
    ] == [(own.id, "client", "moving away")]
