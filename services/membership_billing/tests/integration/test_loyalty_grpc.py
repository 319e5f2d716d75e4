"""Loyalty over gRPC against real PostgreSQL: a payment and a check-in earn points in their own transaction
(expiring after the program's validity, at the business's midnight), points are redeemed as another credit type
once per request id (the use and the charge together, or nothing), a refund takes back what is left of the
points its payment earned, and the events leave through the outbox."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from atrium.client.v1 import client_service_pb2 as client_pb
from atrium.client.v1 import client_service_pb2_grpc as client_grpc
from atrium.common.v1 import types_pb2
from atrium.common.v1.events_pb2 import EventEnvelope
from atrium.membership_billing.v1 import billing_pb2 as billing_pb
from atrium.membership_billing.v1 import billing_pb2_grpc as billing_grpc
from atrium.membership_billing.v1 import events_pb2
from atrium.membership_billing.v1 import ledger_pb2 as ledger_pb
from atrium.membership_billing.v1 import ledger_pb2_grpc as ledger_grpc
from atrium.membership_billing.v1 import memberships_pb2 as pb
from atrium.membership_billing.v1 import memberships_pb2_grpc as pb_grpc
from membership_billing_svc.config import BillingSettings
from platform_core.db import create_engine
from platform_core.grpc.context import CallContext, Principal, bind_call_context
from platform_core.grpc.values import aware


@pytest.fixture
async def engine(billing_settings: BillingSettings) -> AsyncIterator[AsyncEngine]:
    created = create_engine(billing_settings.database_url(billing_settings.unit))
    yield created
    await created.dispose()


async def test_payments_and_visits_earn_points_that_are_redeemed_as_credit(
    billing_channel: grpc.aio.Channel, billing_client_channel: grpc.aio.Channel, engine: AsyncEngine
) -> None:
    tenant = uuid.uuid4()
    memberships = pb_grpc.MembershipServiceStub(billing_channel)
    ledger = ledger_grpc.LedgerServiceStub(billing_channel)
    billing = billing_grpc.BillingServiceStub(billing_channel)
    with bind_call_context(CallContext(tenant, Principal("staff", str(uuid.uuid4()), "owner"))):
        assert not (await memberships.GetLoyaltyProgram(pb.GetLoyaltyProgramRequest())).enabled
        points = await ledger.CreateCreditType(ledger_pb.CreateCreditTypeRequest(name="Points", unit="point"))
        wallet = await ledger.CreateCreditType(ledger_pb.CreateCreditTypeRequest(name="Wallet", currency="EUR"))
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await memberships.SetLoyaltyProgram(
                pb.LoyaltyProgram(points_credit_type_id=wallet.id, currency="EUR", step_minor=1000, points_per_step=1)
            )
        assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        program = await memberships.SetLoyaltyProgram(
            pb.LoyaltyProgram(
                points_credit_type_id=points.id,
                currency="EUR",
                step_minor=1000,
                points_per_step=2,
                points_per_visit=5,
                validity_days=365,
                reward_credit_type_id=wallet.id,
                points_per_reward_unit=10,
            )
        )
        assert program.enabled and (await memberships.GetLoyaltyProgram(pb.GetLoyaltyProgramRequest())) == program

        client_id = (
            await client_grpc.ClientRecordsStub(billing_client_channel).CreateClient(
                client_pb.CreateClientRequest(first_name="Lola", last_name="Loyal")
            )
        ).id
        # 45.50 EUR paid: 4 whole steps of 10 EUR, 8 points; a payment in another currency earns none.
        for amount, currency in ((4550, "EUR"), (9000, "USD")):
            await billing.RecordPayment(
                billing_pb.RecordPaymentRequest(
                    client_id=client_id,
                    amount=types_pb2.Money(amount_minor=amount, currency=currency),
                    method="card",
                )
            )
        await ledger.CheckIn(ledger_pb.CheckInRequest(client_id=client_id))

        async def held(type_id: str) -> int:
            reply = await ledger.GetCreditBalances(ledger_pb.GetCreditBalancesRequest(client_id=client_id))
            return sum(b.balance for b in reply.balances if b.credit_type.id == type_id)

        assert await held(points.id) == 13
        reply = await ledger.GetCreditBalances(ledger_pb.GetCreditBalancesRequest(client_id=client_id))
        (balance,) = [b for b in reply.balances if b.credit_type.id == points.id]
        today = datetime.now(UTC).date()  # the business's zone is not set: UTC
        expiry = datetime.combine(today + timedelta(days=365), datetime.min.time(), tzinfo=UTC)
        assert {aware(lot.expires_at) for lot in balance.lots} == {expiry}

        for bad in (7, 20):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await memberships.RedeemPoints(pb.RedeemPointsRequest(client_id=client_id, points=bad))
            assert refused.value.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION)
        assert await held(points.id) == 13 and await held(wallet.id) == 0
        request = pb.RedeemPointsRequest(client_id=client_id, points=10, request_id="redeem-1")
        first = await memberships.RedeemPoints(request)
        assert (await memberships.RedeemPoints(request)).id == first.id
        assert (await held(points.id), await held(wallet.id)) == (3, 1)

        # A refund takes back what is left of the points its payment earned (spent points stay spent).
        later = await billing.RecordPayment(
            billing_pb.RecordPaymentRequest(
                client_id=client_id, amount=types_pb2.Money(amount_minor=2000, currency="EUR"), method="card"
            )
        )
        assert await held(points.id) == 7
        await billing.RefundPayment(billing_pb.RefundPaymentRequest(payment_id=later.id, reason="returned"))
        assert await held(points.id) == 3
        payments = await billing.ListPayments(billing_pb.ListPaymentsRequest(client_id=client_id))
        (first_payment,) = [p for p in payments.payments if p.amount_minor == 4550]
        await billing.RefundPayment(billing_pb.RefundPaymentRequest(payment_id=first_payment.id, reason="returned"))
        assert await held(points.id) == 3

    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT envelope FROM outbox WHERE tenant_id = :t AND subject LIKE '%.Points%' ORDER BY id"),
                {"t": tenant},
            )
        ).all()
    told = []
    for row in rows:
        envelope = EventEnvelope.FromString(row.envelope)
        if envelope.payload.Is(events_pb2.PointsEarned.DESCRIPTOR):
            earned = events_pb2.PointsEarned()
            envelope.payload.Unpack(earned)
            told.append(("earned", earned.source, earned.points, earned.balance_after))
        else:
            redeemed = events_pb2.PointsRedeemed()
            envelope.payload.Unpack(redeemed)
            told.append(("redeemed", redeemed.credit_type_id, redeemed.points, redeemed.balance_after))
    assert told == [
        ("earned", "payment", 8, 8),
        ("earned", "visit", 5, 13),
        ("redeemed", wallet.id, 10, 3),
        ("earned", "payment", 4, 7),
    ]
