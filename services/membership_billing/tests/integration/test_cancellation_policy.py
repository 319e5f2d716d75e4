"""The cancellation and no-show policy against real PostgreSQL and the client and scheduling services: set
over gRPC, quoted before a client confirms, and applied from scheduling's events exactly once per appointment
(a late cancel forfeits or charges a fee, an early one gives back what a check-in took, a no-show consumes,
and the third no-show blocks online booking until a date)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from atrium.client.v1 import client_service_pb2 as client_pb
from atrium.client.v1 import client_service_pb2_grpc as client_grpc
from atrium.common.v1.events_pb2 import EventEnvelope
from atrium.membership_billing.v1 import billing_pb2 as billing_pb
from atrium.membership_billing.v1 import billing_pb2_grpc as billing_grpc
from atrium.membership_billing.v1 import events_pb2 as events_pb
from atrium.membership_billing.v1 import ledger_pb2 as ledger_pb
from atrium.membership_billing.v1 import ledger_pb2_grpc as ledger_grpc
from atrium.membership_billing.v1 import policy_pb2 as pb
from atrium.membership_billing.v1 import policy_pb2_grpc as pb_grpc
from atrium.scheduling.v1.catalogue_pb2_grpc import CatalogueServiceStub
from membership_billing_svc.adapters.business_calendar import GrpcBusinessCalendar
from membership_billing_svc.adapters.client_directory import GrpcClientDirectory
from membership_billing_svc.config import BillingSettings
from membership_billing_svc.domain import commands
from membership_billing_svc.service_layer import policy_handlers
from membership_billing_svc.service_layer.unit_of_work import SqlAlchemyBillingUnitOfWork
from platform_core.db import create_engine, session_factory
from platform_core.grpc.context import CallContext, Principal, bind_call_context
from platform_core.grpc.values import aware, timestamp
from platform_dev.testing.plugin import wait_until

SERVICE = uuid.uuid4()
OTHER_SERVICE = uuid.uuid4()


def staff(tenant: uuid.UUID) -> CallContext:
    return CallContext(tenant, Principal("staff", str(uuid.uuid4()), "owner"))


@pytest.fixture
async def engine(billing_settings: BillingSettings) -> AsyncIterator[AsyncEngine]:
    created = create_engine(billing_settings.database_url(billing_settings.unit))
    yield created
    await created.dispose()


def business_policy() -> pb.CancellationPolicy:
    return pb.CancellationPolicy(
        windows=[
            pb.CancellationWindow(within_hours=48, outcome=pb.PolicyOutcome(kind="fee", percent=50)),
            pb.CancellationWindow(within_hours=24, outcome=pb.PolicyOutcome(kind="forfeit", percent=100)),
        ],
        no_show=pb.PolicyOutcome(kind="forfeit", percent=100),
        repeat_no_shows=pb.RepeatNoShowRule(no_shows=3, period_days=30, block_days=14),
    )


class Harness:
    def __init__(
        self,
        billing_settings: BillingSettings,
        engine: AsyncEngine,
        billing: grpc.aio.Channel,
        clients: grpc.aio.Channel,
        scheduling: grpc.aio.Channel,
        tenant: uuid.UUID,
    ) -> None:
        self.tenant = tenant
        self.engine = engine
        self.sessions = session_factory(engine)
        self.prefix = billing_settings.nats_prefix
        self.policies = pb_grpc.CancellationPolicyServiceStub(billing)
        self.ledger = ledger_grpc.LedgerServiceStub(billing)
        self.billing = billing_grpc.BillingServiceStub(billing)
        self.clients = client_grpc.ClientRecordsStub(clients)
        self.client_merges = client_grpc.ClientMergesStub(clients)
        self.directory = GrpcClientDirectory(self.clients)
        self.calendar = GrpcBusinessCalendar(CatalogueServiceStub(scheduling))

    async def apply(
        self,
        client_id: str,
        appointment_id: uuid.UUID,
        start: datetime,
        at: datetime,
        *,
        no_show: bool = False,
        by: str = "client",
        service: uuid.UUID = SERVICE,
    ) -> object:
        # As the consumer runs it: bound to the event's tenant, as the billing service.
        with bind_call_context(CallContext(self.tenant, Principal.service("membership_billing"))):
            return await self._apply(client_id, appointment_id, start, at, no_show=no_show, by=by, service=service)

    async def _apply(
        self,
        client_id: str,
        appointment_id: uuid.UUID,
        start: datetime,
        at: datetime,
        *,
        no_show: bool,
        by: str,
        service: uuid.UUID,
    ) -> object:
        return await policy_handlers.apply_cancellation_policy(
            commands.ApplyCancellationPolicy(
                tenant_id=self.tenant,
                appointment_id=appointment_id,
                client_id=uuid.UUID(client_id),
                starts_at=start,
                timezone="Europe/Berlin",
                visits=(commands.VisitFacts(service, "Massage", 8000, "EUR"),),
                no_show=no_show,
                cancelled_by="" if no_show else by,
                at=at,
            ),
            SqlAlchemyBillingUnitOfWork(
                self.sessions, nats_prefix=self.prefix, client_directory=self.directory, business_calendar=self.calendar
            ),
        )

    async def sessions_left(self, client_id: str) -> int:
        reply = await self.ledger.GetCreditBalances(ledger_pb.GetCreditBalancesRequest(client_id=client_id))
        return sum(b.balance for b in reply.balances)

    async def policy_events(self) -> list[events_pb.PolicyFeeCharged]:
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    text("SELECT envelope FROM outbox WHERE tenant_id = :t ORDER BY id"), {"t": self.tenant}
                )
            ).all()
        found = []
        for row in rows:
            envelope = EventEnvelope.FromString(row.envelope)
            if envelope.event_type.endswith("PolicyFeeCharged"):
                found.append(events_pb.PolicyFeeCharged.FromString(envelope.payload.value))
        return found


@pytest.fixture
async def harness(
    billing_settings: BillingSettings,
    engine: AsyncEngine,
    billing_channel: grpc.aio.Channel,
    billing_client_channel: grpc.aio.Channel,
    billing_scheduling_channel: grpc.aio.Channel,
) -> Harness:
    return Harness(
        billing_settings,
        engine,
        billing_channel,
        billing_client_channel,
        billing_scheduling_channel,
        uuid.uuid4(),
    )


async def client_with_sessions(h: Harness, amount: int) -> str:
    client = await h.clients.CreateClient(client_pb.CreateClientRequest(first_name="Policy", last_name="Tester"))
    massage = await h.ledger.CreateCreditType(ledger_pb.CreateCreditTypeRequest(name="Massage 60", unit="session"))
    await h.ledger.SetServiceCreditRules(
        ledger_pb.ServiceCreditRules(
            service_id=str(SERVICE), rules=[ledger_pb.ServiceCreditRule(credit_type_id=massage.id, units=1)]
        )
    )
    await h.ledger.ChargeCredits(
        ledger_pb.ChargeCreditsRequest(client_id=client.id, credit_type_id=massage.id, amount=amount)
    )
    return client.id


async def test_the_policy_is_set_listed_overridden_and_refused_when_malformed(harness: Harness) -> None:
    h = harness
    with bind_call_context(staff(h.tenant)):
        empty = await h.policies.ListCancellationPolicies(pb.ListCancellationPoliciesRequest())
        assert not empty.HasField("business") and not empty.services
        saved = await h.policies.SetCancellationPolicy(business_policy())
        assert [(w.within_hours, w.outcome.kind) for w in saved.windows] == [(48, "fee"), (24, "forfeit")]
        override = await h.policies.SetCancellationPolicy(
            pb.CancellationPolicy(
                service_id=str(OTHER_SERVICE),
                windows=[
                    pb.CancellationWindow(
                        within_days=1, outcome=pb.PolicyOutcome(kind="fee", fee_minor=1500, currency="eur")
                    )
                ],
                no_show=pb.PolicyOutcome(kind="free"),
            )
        )
        assert override.windows[0].outcome.currency == "EUR"
        listed = await h.policies.ListCancellationPolicies(pb.ListCancellationPoliciesRequest())
        assert listed.business.repeat_no_shows.no_shows == 3
        assert [p.service_id for p in listed.services] == [str(OTHER_SERVICE)]

        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await h.policies.SetCancellationPolicy(
                pb.CancellationPolicy(
                    service_id=str(OTHER_SERVICE),
                    windows=[pb.CancellationWindow(within_hours=5, within_days=1, outcome=pb.PolicyOutcome())],
                    no_show=pb.PolicyOutcome(kind="forfeit", percent=150),
                    repeat_no_shows=pb.RepeatNoShowRule(no_shows=3, period_days=30, block_days=7),
                )
            )
        assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        for field in ("windows[0]", "no_show.percent", "repeat_no_shows"):
            assert field in (refused.value.details() or "")
        # Refused whole: the override is as it was.
        again = await h.policies.ListCancellationPolicies(pb.ListCancellationPoliciesRequest())
        assert again.services[0].windows[0].within_days == 1

        await h.policies.DeleteCancellationPolicy(pb.DeleteCancellationPolicyRequest(service_id=str(OTHER_SERVICE)))
        with pytest.raises(grpc.aio.AioRpcError) as gone:
            await h.policies.DeleteCancellationPolicy(pb.DeleteCancellationPolicyRequest(service_id=str(OTHER_SERVICE)))
        assert gone.value.code() is grpc.StatusCode.NOT_FOUND


async def test_the_quote_shows_what_cancelling_now_and_a_no_show_would_cost(harness: Harness) -> None:
    h = harness
    with bind_call_context(staff(h.tenant)):
        await h.policies.SetCancellationPolicy(business_policy())
        client_id = await client_with_sessions(h, 2)
        now = datetime.now(UTC)
        start = now + timedelta(hours=30)

        def request(at: datetime) -> pb.QuoteCancellationRequest:
            return pb.QuoteCancellationRequest(
                client_id=client_id,
                start=timestamp(start),
                timezone="Europe/Berlin",
                services=[pb.QuotedService(service_id=str(SERVICE), price_minor=8001, currency="EUR")],
                at=timestamp(at),
            )

        quote = await h.policies.QuoteCancellation(request(now))
        [terms] = quote.services
        assert (terms.window.within_hours, terms.outcome.kind, terms.fee_minor, terms.currency) == (
            48,
            "fee",
            4001,
            "EUR",
        )
        assert (terms.no_show.kind, terms.no_show_credits) == ("forfeit", 1)
        assert aware(quote.free_until) == start - timedelta(hours=48)
        late = (await h.policies.QuoteCancellation(request(start - timedelta(hours=2)))).services[0]
        assert (late.outcome.kind, late.credits_forfeited, late.fee_minor) == ("forfeit", 1, 0)
        early = (await h.policies.QuoteCancellation(request(start - timedelta(hours=49)))).services[0]
        assert (early.outcome.kind, early.HasField("window")) == ("free", False)


async def test_applied_once_per_appointment_late_forfeits_early_restores_fee_invoices_and_staff_is_free(
    harness: Harness,
) -> None:
    h = harness
    with bind_call_context(staff(h.tenant)):
        await h.policies.SetCancellationPolicy(business_policy())
        client_id = await client_with_sessions(h, 5)

    def starting_in(notice: timedelta) -> tuple[datetime, datetime]:
        """(start, cancelled at): cancelled now, ``notice`` before the start."""
        now = datetime.now(UTC)
        return now + notice, now

    late = uuid.uuid4()
    start, at = starting_in(timedelta(hours=3))
    # Two replicas (or a redelivery) at once: applied once.
    results = await asyncio.gather(*(h.apply(client_id, late, start, at) for _ in range(2)))
    assert sum(r is not None for r in results) == 1
    with bind_call_context(staff(h.tenant)):
        assert await h.sessions_left(client_id) == 4

        early = uuid.uuid4()
        await h.ledger.CheckIn(
            ledger_pb.CheckInRequest(client_id=client_id, service_id=str(SERVICE), appointment_id=str(early))
        )
        assert await h.sessions_left(client_id) == 3
    assert await h.apply(client_id, early, *starting_in(timedelta(hours=72))) is not None
    with bind_call_context(staff(h.tenant)):
        assert await h.sessions_left(client_id) == 4

    fee = uuid.uuid4()
    await h.apply(client_id, fee, *starting_in(timedelta(hours=30)))
    # Cancelled late by staff: the policy only counts the client's own unless the business says so.
    assert await h.apply(client_id, uuid.uuid4(), *starting_in(timedelta(hours=1)), by="staff") is not None
    with bind_call_context(staff(h.tenant)):
        assert await h.sessions_left(client_id) == 4
    charged = await h.policy_events()
    assert [(e.reason, e.outcome, e.credits_forfeited, e.amount_minor) for e in charged] == [
        ("late_cancellation", "forfeit", 1, 0),
        ("late_cancellation", "fee", 0, 4000),
    ]
    with bind_call_context(staff(h.tenant)):
        invoice = await h.billing.GetInvoice(billing_pb.GetInvoiceRequest(invoice_id=charged[1].invoice_id))
    assert (invoice.status, invoice.total_minor, invoice.currency, invoice.number > 0) == ("issued", 4000, "EUR", True)
    assert invoice.lines[0].description.startswith("Late cancellation: Massage")
    assert invoice.lines[0].appointment_id == str(fee)


async def test_no_shows_consume_and_the_third_within_the_period_blocks_online_booking_until_a_date(
    harness: Harness,
) -> None:
    h = harness
    with bind_call_context(staff(h.tenant)):
        await h.policies.SetCancellationPolicy(business_policy())
        client_id = await client_with_sessions(h, 5)
    now = datetime.now(UTC).replace(microsecond=0)
    # Each no-show counts those of the 30 days before its start: the one 60 days ago never joins the others.
    starts = [now - timedelta(days=60), now - timedelta(days=20), now - timedelta(days=10), now - timedelta(hours=1)]
    for i, start in enumerate(starts):
        marked_at = datetime.now(UTC)
        await h.apply(client_id, uuid.uuid4(), start, marked_at, no_show=True)
        with bind_call_context(staff(h.tenant)):
            client = await h.clients.GetClient(client_pb.GetClientRequest(id=client_id))
            assert await h.sessions_left(client_id) == 4 - i
        assert client.online_booking_blocked is (i == 3)
    assert aware(client.online_booking_blocked_until) == marked_at + timedelta(days=14)


async def test_no_shows_follow_a_merge_and_a_merged_away_id_is_charged_as_its_survivor(harness: Harness) -> None:
    h = harness
    with bind_call_context(staff(h.tenant)):
        await h.policies.SetCancellationPolicy(business_policy())
        survivor = await client_with_sessions(h, 3)
        duplicate = (
            await h.clients.CreateClient(client_pb.CreateClientRequest(first_name="Policy", last_name="Twin"))
        ).id
    now = datetime.now(UTC)
    # Two no-shows on the duplicate's record, then the records are merged.
    for days in (5, 3):
        await h.apply(duplicate, uuid.uuid4(), now - timedelta(days=days), datetime.now(UTC), no_show=True)
    with bind_call_context(staff(h.tenant)):
        await h.client_merges.MergeClients(client_pb.MergeClientsRequest(survivor_id=survivor, merged_ids=[duplicate]))

    async def moved() -> bool:
        async with h.engine.connect() as conn:
            count = (
                await conn.execute(
                    text("SELECT count(*) FROM policy_applications WHERE tenant_id = :t AND client_id = :c"),
                    {"t": h.tenant, "c": uuid.UUID(survivor)},
                )
            ).scalar_one()
        return int(count) == 2

    await wait_until(moved)
    # A third no-show, named by the merged-away id: the survivor's session pays, and its third no-show blocks.
    await h.apply(duplicate, uuid.uuid4(), now - timedelta(hours=2), datetime.now(UTC), no_show=True)
    with bind_call_context(staff(h.tenant)):
        assert await h.sessions_left(survivor) == 2
        client = await h.clients.GetClient(client_pb.GetClientRequest(id=survivor))
    assert client.online_booking_blocked
