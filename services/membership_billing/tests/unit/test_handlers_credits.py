"""Ledger, loyalty, package, membership and cancellation-policy use cases through the fake unit of work:
credits charged, used and given back once, what a sale or a subscription writes together, and what the policy
takes when an appointment is cancelled late or missed."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from membership_billing_svc.domain import commands, events
from membership_billing_svc.domain.cancellation_policy import Reason
from membership_billing_svc.domain.consumption import visit_key
from membership_billing_svc.domain.invoices import InvoiceStatus
from membership_billing_svc.domain.ledger import INSUFFICIENT_CREDITS, CreditType
from membership_billing_svc.domain.memberships import SubscriptionStatus
from membership_billing_svc.domain.payments import PaymentInput
from membership_billing_svc.service_layer import (
    handlers,
    ledger_handlers,
    loyalty_handlers,
    membership_handlers,
    package_handlers,
    policy_handlers,
)
from platform_core.errors import Conflict, FailedPrecondition, InvalidArgument, PermissionDenied

from . import fakes

NOW = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
TENANT = uuid.uuid4()
SERVICE = uuid.uuid4()


async def sessions_type(uow: fakes.FakeUnitOfWork, name: str = "Massage 60") -> CreditType:
    return await ledger_handlers.define_credit_type(commands.DefineCreditType(TENANT, name, "session", "", NOW), uow)


def charge(
    client_id: uuid.UUID,
    type_id: uuid.UUID,
    amount: int,
    *,
    expires_on: date | None = None,
    request_id: str | None = None,
) -> commands.ChargeCredits:
    return commands.ChargeCredits(TENANT, client_id, type_id, amount, None, expires_on, "", request_id, NOW)


def held(uow: fakes.FakeUnitOfWork, client_id: uuid.UUID) -> int:
    return sum(uow.stores.remaining(lot.id) for lot in uow.stores.lots.values() if lot.client_id == client_id)


# --- the ledger -----------------------------------------------------------------------------------------


async def test_credits_are_used_first_expiring_first_and_a_use_is_given_back_once() -> None:
    uow = fakes.FakeUnitOfWork()
    client = uow.clients.add("Anna")
    massage = await sessions_type(uow)
    later = await ledger_handlers.charge_credits(charge(client, massage.id, 3), uow)
    sooner = await ledger_handlers.charge_credits(charge(client, massage.id, 2, expires_on=date(2030, 4, 1)), uow)

    used = await ledger_handlers.use_credits(commands.UseCredits(TENANT, client, massage.id, 3, "", None, NOW), uow)
    assert used.taken_per_lot() == {sooner.id: 2, later.id: 1}
    with pytest.raises(FailedPrecondition) as short:
        await ledger_handlers.use_credits(commands.UseCredits(TENANT, client, massage.id, 3, "", None, NOW), uow)
    assert short.value.reason == INSUFFICIENT_CREDITS

    await ledger_handlers.reverse_use(commands.ReverseUse(TENANT, used.id, "mistake", NOW), uow)
    assert held(uow, client) == 5
    assert [e.transaction_id for e in uow.published_of(events.CreditsRestored)] != []


async def test_a_retried_charge_returns_the_first_lot_and_a_reused_request_id_is_refused() -> None:
    uow = fakes.FakeUnitOfWork()
    client = uow.clients.add("Ben")
    massage = await sessions_type(uow)

    first = await ledger_handlers.charge_credits(charge(client, massage.id, 4, request_id="c-1"), uow)
    again = await ledger_handlers.charge_credits(charge(client, massage.id, 4, request_id="c-1"), uow)
    assert (again.id, len(uow.stores.lots)) == (first.id, 1)
    with pytest.raises(Conflict) as reused:
        await ledger_handlers.charge_credits(charge(client, massage.id, 5, request_id="c-1"), uow)
    assert reused.value.reason == "REQUEST_ID_REUSED"


async def test_a_charge_to_an_unknown_client_or_credit_type_is_refused() -> None:
    uow = fakes.FakeUnitOfWork()
    client = uow.clients.add("Cleo")
    massage = await sessions_type(uow)
    with pytest.raises(InvalidArgument) as nobody:
        await ledger_handlers.charge_credits(charge(uuid.uuid4(), massage.id, 1), uow)
    assert [v.field for v in nobody.value.violations] == ["client_id"]
    with pytest.raises(InvalidArgument) as no_type:
        await ledger_handlers.charge_credits(charge(client, uuid.uuid4(), 1), uow)
    assert [v.field for v in no_type.value.violations] == ["credit_type_id"]
    assert uow.stores.lots == {}


async def test_a_checked_in_visit_consumes_what_pays_for_it_once_and_earns_points() -> None:
    uow = fakes.FakeUnitOfWork()
    client = uow.clients.add("Dora")
    massage, points = await sessions_type(uow), await sessions_type(uow, "Points")
    await ledger_handlers.set_service_rules(commands.SetServiceRules(TENANT, SERVICE, ((massage.id, 1),)), uow)
    await loyalty_handlers.set_loyalty_program(
        commands.SetLoyaltyProgram(TENANT, points.id, "EUR", 1000, 1, 5, None, None, 0, NOW), uow
    )
    await ledger_handlers.charge_credits(charge(client, massage.id, 2), uow)
    appointment = uuid.uuid4()

    check_in, used = await ledger_handlers.check_in_client(
        commands.CheckInClient(TENANT, client, SERVICE, appointment, None, "staff", "", NOW), uow
    )
    assert used is not None and used.request_id == visit_key(appointment, SERVICE)
    assert check_in.transaction_id == used.id
    # The appointment's completion afterwards takes nothing more.
    again = await ledger_handlers.consume_for_visit(
        commands.ConsumeForVisit(TENANT, client, SERVICE, visit_key(appointment, SERVICE), "completed", NOW), uow
    )
    assert again is not None and again.id == used.id
    assert held(uow, client) == 1 + 5
    assert [e.points for e in uow.published_of(events.PointsEarned)] == [5]


async def test_a_payment_earns_points_and_its_refund_takes_them_back() -> None:
    uow = fakes.FakeUnitOfWork()
    client = uow.clients.add("Emil")
    points = await sessions_type(uow, "Points")
    await loyalty_handlers.set_loyalty_program(
        commands.SetLoyaltyProgram(TENANT, points.id, "EUR", 1000, 2, 0, None, None, 0, NOW), uow
    )
    payment = await handlers.record_payment(
        commands.RecordPayment(TENANT, client, PaymentInput(4500, "EUR", "cash", NOW), None, None, NOW), uow
    )
    assert held(uow, client) == 8

    await handlers.refund_payment(commands.RefundPayment(TENANT, payment.id, "returned", NOW), uow)
    assert held(uow, client) == 0


async def test_points_are_redeemed_as_a_reward_all_or_nothing_and_a_retry_returns_the_first() -> None:
    uow = fakes.FakeUnitOfWork()
    client = uow.clients.add("Eve")
    points = await sessions_type(uow, "Points")
    money = await ledger_handlers.define_credit_type(commands.DefineCreditType(TENANT, "Gift", "", "EUR", NOW), uow)
    await loyalty_handlers.set_loyalty_program(
        commands.SetLoyaltyProgram(TENANT, points.id, "EUR", 100, 1, 0, None, money.id, 10, NOW), uow
    )
    await handlers.record_payment(
        commands.RecordPayment(TENANT, client, PaymentInput(3000, "EUR", "cash", NOW), None, None, NOW), uow
    )
    redeem = commands.RedeemPoints(TENANT, client, 20, "p-1", NOW)

    spent = await loyalty_handlers.redeem_points(redeem, uow)
    assert spent.client_change == -20
    assert await loyalty_handlers.redeem_points(redeem, uow) == spent
    (reward,) = [lot for lot in uow.stores.lots.values() if lot.credit_type_id == money.id]
    assert (reward.amount, held(uow, client)) == (2, 10 + 2)
    with pytest.raises(FailedPrecondition) as short:
        await loyalty_handlers.redeem_points(commands.RedeemPoints(TENANT, client, 20, None, NOW), uow)
    assert short.value.reason == INSUFFICIENT_CREDITS
    assert held(uow, client) == 12


async def test_expired_lots_are_swept_once() -> None:
    uow = fakes.FakeUnitOfWork()
    client = uow.clients.add("Fay")
    massage = await sessions_type(uow)
    await ledger_handlers.charge_credits(charge(client, massage.id, 2, expires_on=date(2030, 3, 10)), uow)

    assert await ledger_handlers.expire_lots(commands.ExpireLots(NOW + timedelta(days=30), 10), uow) == 1
    assert await ledger_handlers.expire_lots(commands.ExpireLots(NOW + timedelta(days=31), 10), uow) == 0
    assert held(uow, client) == 0


# --- packages and memberships -----------------------------------------------------------------------------


async def test_a_package_sale_issues_its_invoice_and_charges_its_lots_together() -> None:
    uow = fakes.FakeUnitOfWork()
    client = uow.clients.add("Gus")
    massage = await sessions_type(uow)
    package = await package_handlers.define_package(
        commands.DefinePackage(TENANT, "Ten massages", ((massage.id, 10),), 90, 60000, "EUR", 0, "auto", 0, NOW), uow
    )

    sale = await package_handlers.sell_package(commands.SellPackage(TENANT, package.id, client, None, "s-1", NOW), uow)
    assert sale.invoice_id is not None
    invoice = uow.stores.invoices[sale.invoice_id]
    assert (invoice.status, invoice.number, invoice.total_minor) == (InvoiceStatus.ISSUED, 1, 60000)
    assert held(uow, client) == 10
    again = await package_handlers.sell_package(commands.SellPackage(TENANT, package.id, client, None, "s-1", NOW), uow)
    assert (again.id, len(uow.stores.sales)) == (sale.id, 1)


async def membership(uow: fakes.FakeUnitOfWork, *, package_id: uuid.UUID | None = None) -> uuid.UUID:
    defined = await membership_handlers.define_membership(
        commands.DefineMembership(
            TENANT, "Gold", package_id, "Sauna", 1, "month", 5000, "EUR", 0, "auto", 0, 3, False, 7, (), NOW
        ),
        uow,
    )
    return defined.id


async def test_a_subscription_is_invoiced_with_its_credits_and_a_freeze_moves_both_expiries() -> None:
    uow = fakes.FakeUnitOfWork()
    client = uow.clients.add("Hana")
    massage = await sessions_type(uow)
    package = await package_handlers.define_package(
        commands.DefinePackage(TENANT, "Four a month", ((massage.id, 4),), None, 0, "EUR", 0, "draft", 0, NOW), uow
    )
    gold = await membership(uow, package_id=package.id)

    subscription = await membership_handlers.subscribe(commands.Subscribe(TENANT, gold, client, None, None, NOW), uow)
    assert subscription.status is SubscriptionStatus.ACTIVE
    assert subscription.invoice_id is not None
    assert uow.stores.invoices[subscription.invoice_id].status is InvoiceStatus.ISSUED
    (lot,) = uow.stores.lots.values()
    assert (lot.subscription_id, held(uow, client)) == (subscription.id, 4)
    expiry, lot_expiry = subscription.expires_on, lot.expires_at
    assert lot_expiry is not None

    frozen = await membership_handlers.freeze_subscription(
        commands.FreezeSubscription(TENANT, subscription.id, 10, None, "travel", NOW), uow
    )
    assert frozen.status is SubscriptionStatus.FROZEN
    assert frozen.expires_on == expiry + timedelta(days=10)
    assert lot.expires_at == lot_expiry + timedelta(days=10)
    assert [e.subscription.subscription_id for e in uow.published_of(events.MembershipFrozen)] == [subscription.id]


async def test_a_renewal_continues_from_the_expiry_with_a_new_invoice_and_a_retry_returns_it() -> None:
    uow = fakes.FakeUnitOfWork()
    client = uow.clients.add("Ines")
    subscription = await membership_handlers.subscribe(
        commands.Subscribe(TENANT, await membership(uow), client, None, None, NOW), uow
    )
    first_invoice, expiry = subscription.invoice_id, subscription.expires_on
    renew = commands.RenewSubscription(TENANT, subscription.id, "n-1", NOW)

    renewed = await membership_handlers.renew_subscription(renew, uow)
    assert renewed.starts_on == subscription.starts_on
    assert renewed.expires_on > expiry
    assert renewed.invoice_id not in (None, first_invoice)
    assert len(uow.stores.invoices) == 2
    again = await membership_handlers.renew_subscription(renew, uow)
    assert (again.id, again.expires_on, len(uow.stores.invoices)) == (renewed.id, renewed.expires_on, 2)
    assert len(uow.published_of(events.MembershipRenewed)) == 1


async def test_the_review_expires_a_subscription_after_its_tolerance_days() -> None:
    uow = fakes.FakeUnitOfWork()
    client = uow.clients.add("Ida")
    subscription = await membership_handlers.subscribe(
        commands.Subscribe(TENANT, await membership(uow), client, None, None, NOW), uow
    )
    after = datetime.combine(subscription.tolerance_until + timedelta(days=1), datetime.min.time(), UTC)

    reviewed = await membership_handlers.review_subscriptions(commands.ReviewSubscriptions(TENANT, after, 50), uow)
    assert reviewed >= 1
    assert uow.stores.subscriptions[subscription.id].status is SubscriptionStatus.EXPIRED
    assert [e.subscription.subscription_id for e in uow.published_of(events.MembershipExpired)] == [subscription.id]


async def test_a_client_cancels_its_own_subscription_only_when_the_business_lets_it() -> None:
    uow = fakes.FakeUnitOfWork()
    client = uow.clients.add("Jon")
    subscription = await membership_handlers.subscribe(
        commands.Subscribe(TENANT, await membership(uow), client, None, None, NOW), uow
    )
    by_client = commands.CancelSubscription(TENANT, subscription.id, "moving", "client", NOW, client_id=client)

    with pytest.raises(PermissionDenied):
        await membership_handlers.cancel_subscription(by_client, uow)
    await membership_handlers.set_membership_settings(commands.SetMembershipSettings(TENANT, True, NOW), uow)
    cancelled = await membership_handlers.cancel_subscription(by_client, uow)
    assert cancelled.status is SubscriptionStatus.CANCELLED


# --- the cancellation policy ------------------------------------------------------------------------------


def policy(
    *, fee_minor: int = 0, forfeit: int = 0, repeat: tuple[int, int, int] | None = None, repeat_outcome: str = ""
) -> commands.SetCancellationPolicy:
    late = (
        commands.OutcomeInput("fee", fee_minor=fee_minor, currency="EUR")
        if fee_minor
        else commands.OutcomeInput("forfeit", percent=forfeit)
    )
    return commands.SetCancellationPolicy(
        TENANT, None, (commands.WindowInput(24, 0, late),), late, repeat, False, NOW, repeat_outcome=repeat_outcome
    )


def ended(client_id: uuid.UUID, start: datetime, *, no_show: bool = False) -> commands.ApplyCancellationPolicy:
    return commands.ApplyCancellationPolicy(
        TENANT,
        uuid.uuid4(),
        client_id,
        start,
        "Europe/Berlin",
        (commands.VisitFacts(SERVICE, "Massage", 8000, "EUR"),),
        no_show,
        "" if no_show else "client",
        NOW,
    )


async def test_a_late_cancellation_is_charged_its_fee_on_an_issued_invoice_once() -> None:
    uow = fakes.FakeUnitOfWork()
    client = uow.clients.add("Kim")
    await policy_handlers.set_cancellation_policy(policy(fee_minor=2500), uow)
    cancelled = ended(client, NOW + timedelta(hours=3))

    application = await policy_handlers.apply_cancellation_policy(cancelled, uow)
    assert application is not None and application.reason is Reason.LATE_CANCELLATION
    (invoice,) = uow.stores.invoices.values()
    assert (invoice.status, invoice.total_minor, invoice.bill_to_name) == (InvoiceStatus.ISSUED, 2500, "Kim")
    assert await policy_handlers.apply_cancellation_policy(cancelled, uow) is None
    assert len(uow.stores.invoices) == 1
    # In good time it costs nothing.
    early = await policy_handlers.apply_cancellation_policy(ended(client, NOW + timedelta(days=3)), uow)
    assert early is not None and early.reason is Reason.EARLY_CANCELLATION
    assert len(uow.stores.invoices) == 1


async def test_a_no_show_forfeits_the_credits_that_would_have_paid_and_repeats_block_online_booking() -> None:
    uow = fakes.FakeUnitOfWork()
    client = uow.clients.add("Lea")
    massage = await sessions_type(uow)
    await ledger_handlers.set_service_rules(commands.SetServiceRules(TENANT, SERVICE, ((massage.id, 2),)), uow)
    await ledger_handlers.charge_credits(charge(client, massage.id, 10), uow)
    await policy_handlers.set_cancellation_policy(policy(forfeit=50, repeat=(2, 30, 14)), uow)

    await policy_handlers.apply_cancellation_policy(ended(client, NOW - timedelta(hours=2), no_show=True), uow)
    assert held(uow, client) == 9
    assert uow.clients.blocks == []
    await policy_handlers.apply_cancellation_policy(ended(client, NOW - timedelta(hours=1), no_show=True), uow)
    assert held(uow, client) == 8
    ((blocked, until, reason),) = uow.clients.blocks
    assert (blocked, until, reason) == (client, NOW + timedelta(days=14), "2 no-shows within 30 days")


@pytest.mark.parametrize(
    ("earlier_start", "trips"),
    [
        # The first no-show's start exactly `period_days` before the third's still counts; a second earlier not.
        (NOW - timedelta(days=30), True),
        (NOW - timedelta(days=30, seconds=1), False),
        (NOW - timedelta(days=3), True),
    ],
)
async def test_the_nth_no_show_within_the_period_makes_requests_wait_for_approval(
    earlier_start: datetime, trips: bool
) -> None:
    uow = fakes.FakeUnitOfWork()
    client = uow.clients.add("Noa")
    await policy_handlers.set_cancellation_policy(
        policy(fee_minor=1000, repeat=(3, 30, 14), repeat_outcome="require_approval"), uow
    )
    first = ended(client, earlier_start, no_show=True)
    await policy_handlers.apply_cancellation_policy(first, uow)
    await policy_handlers.apply_cancellation_policy(ended(client, NOW - timedelta(days=1), no_show=True), uow)
    assert uow.published_of(events.ClientRequestsNeedApproval) == []
    third = ended(client, NOW, no_show=True)
    await policy_handlers.apply_cancellation_policy(third, uow)

    needing = uow.published_of(events.ClientRequestsNeedApproval)
    if not trips:
        assert needing == []
        return
    (event,) = needing
    assert (event.client_id, event.appointment_id, event.until, event.reason) == (
        client,
        third.appointment_id,
        NOW + timedelta(days=14),
        "3 no-shows within 30 days",
    )
    # The other outcome is not applied as well, and a redelivered no-show changes nothing.
    assert uow.clients.blocks == []
    await policy_handlers.apply_cancellation_policy(third, uow)
    assert len(uow.published_of(events.ClientRequestsNeedApproval)) == 1


async def test_an_unknown_repeat_outcome_is_refused_naming_it() -> None:
    uow = fakes.FakeUnitOfWork()
    with pytest.raises(InvalidArgument) as refused:
        await policy_handlers.set_cancellation_policy(
            policy(fee_minor=1000, repeat=(3, 30, 14), repeat_outcome="ban"), uow
        )
    assert [v.field for v in refused.value.violations] == ["repeat_no_shows.outcome"]
    with pytest.raises(InvalidArgument) as alone:
        await policy_handlers.set_cancellation_policy(policy(forfeit=50, repeat_outcome="require_approval"), uow)
    assert [v.field for v in alone.value.violations] == ["repeat_no_shows.outcome"]
    assert uow.stores.policies == {}


async def test_a_deleted_policy_is_gone_and_deleting_none_says_so() -> None:
    uow = fakes.FakeUnitOfWork()
    await policy_handlers.set_cancellation_policy(policy(fee_minor=1000), uow)
    assert await policy_handlers.delete_cancellation_policy(commands.DeleteCancellationPolicy(TENANT, None), uow)
    assert uow.stores.policies == {}
    assert not await policy_handlers.delete_cancellation_policy(commands.DeleteCancellationPolicy(TENANT, None), uow)
