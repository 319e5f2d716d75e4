"""The entitlement ledger over gRPC against real PostgreSQL (and the client and scheduling services): charges,
first-expiring-first use, balances as of a moment, the race for the last unit, the schema's own refusals,
the expiry sweep and client merges."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import grpc
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from atrium.client.v1 import client_service_pb2 as client_pb
from atrium.client.v1 import client_service_pb2_grpc as client_grpc
from atrium.common.v1 import types_pb2
from atrium.membership_billing.v1 import ledger_pb2 as pb
from atrium.membership_billing.v1 import ledger_pb2_grpc as pb_grpc
from atrium.scheduling.v1 import catalogue_pb2 as cat
from atrium.scheduling.v1 import catalogue_pb2_grpc as cat_grpc
from membership_billing_svc.adapters.business_calendar import GrpcBusinessCalendar
from membership_billing_svc.adapters.client_directory import GrpcClientDirectory
from membership_billing_svc.config import BillingSettings
from membership_billing_svc.entrypoints.credit_expirer import CreditExpirer
from membership_billing_svc.service_layer.unit_of_work import SqlAlchemyBillingUnitOfWork
from platform_core.db import create_engine, session_factory
from platform_core.grpc.context import CallContext, Principal, bind_call_context
from platform_core.grpc.values import aware, timestamp
from platform_dev.testing.plugin import wait_until

NEW_YORK = ZoneInfo("America/New_York")


def staff(tenant: uuid.UUID) -> CallContext:
    return CallContext(tenant, Principal("staff", str(uuid.uuid4()), "owner"))


@pytest.fixture
def ledger(billing_channel: grpc.aio.Channel) -> pb_grpc.LedgerServiceStub:
    return pb_grpc.LedgerServiceStub(billing_channel)


@pytest.fixture
def clients(billing_client_channel: grpc.aio.Channel) -> client_grpc.ClientRecordsStub:
    return client_grpc.ClientRecordsStub(billing_client_channel)


@pytest.fixture
def client_merges(billing_client_channel: grpc.aio.Channel) -> client_grpc.ClientMergesStub:
    return client_grpc.ClientMergesStub(billing_client_channel)


@pytest.fixture
def catalogue(billing_scheduling_channel: grpc.aio.Channel) -> cat_grpc.CatalogueServiceStub:
    return cat_grpc.CatalogueServiceStub(billing_scheduling_channel)


@pytest.fixture
async def engine(billing_settings: BillingSettings) -> AsyncIterator[AsyncEngine]:
    created = create_engine(billing_settings.database_url(billing_settings.unit))
    yield created
    await created.dispose()


async def new_client(clients: client_grpc.ClientRecordsStub, first_name: str) -> str:
    return (await clients.CreateClient(client_pb.CreateClientRequest(first_name=first_name, last_name="Ledger"))).id


async def sessions_type(ledger: pb_grpc.LedgerServiceStub, name: str = "Massage 60") -> pb.CreditType:
    return await ledger.CreateCreditType(pb.CreateCreditTypeRequest(name=name, unit="session"))


async def balance(ledger: pb_grpc.LedgerServiceStub, client_id: str, as_of: datetime | None = None) -> int:
    request = pb.GetCreditBalancesRequest(client_id=client_id)
    if as_of is not None:
        request.as_of.CopyFrom(timestamp(as_of))
    reply = await ledger.GetCreditBalances(request)
    return sum(b.balance for b in reply.balances)


async def test_charges_are_used_first_expiring_first_and_balances_read_as_of_any_moment(
    ledger: pb_grpc.LedgerServiceStub,
    clients: client_grpc.ClientRecordsStub,
    catalogue: cat_grpc.CatalogueServiceStub,
) -> None:
    tenant = uuid.uuid4()
    with bind_call_context(staff(tenant)):
        await catalogue.UpdateSchedulingSettings(
            cat.SchedulingSettings(
                timezone="America/New_York", slot_rules=cat.SlotRules(granularity_minutes=30, horizon_days=60)
            )
        )
        client_id = await new_client(clients, "Ada")
        massage = await sessions_type(ledger)
        with pytest.raises(grpc.aio.AioRpcError) as taken:
            await sessions_type(ledger, " massage 60 ")
        assert taken.value.code() is grpc.StatusCode.ABORTED or taken.value.code() is grpc.StatusCode.ALREADY_EXISTS

        today = datetime.now(NEW_YORK).date()
        late = await ledger.ChargeCredits(
            pb.ChargeCreditsRequest(
                client_id=client_id,
                credit_type_id=massage.id,
                amount=5,
                expires_on=(today + timedelta(days=60)).isoformat(),
            )
        )
        soon = await ledger.ChargeCredits(
            pb.ChargeCreditsRequest(
                client_id=client_id,
                credit_type_id=massage.id,
                amount=2,
                expires_on=(today + timedelta(days=10)).isoformat(),
                request_id="charge-soon",
            )
        )
        # The business's midnight in New York, at the end of the last day.
        last_day = today + timedelta(days=10)
        expected_expiry = datetime(last_day.year, last_day.month, last_day.day, tzinfo=NEW_YORK) + timedelta(days=1)
        assert aware(soon.expires_at) == expected_expiry.astimezone(UTC)
        again = await ledger.ChargeCredits(
            pb.ChargeCreditsRequest(
                client_id=client_id,
                credit_type_id=massage.id,
                amount=2,
                expires_on=(today + timedelta(days=10)).isoformat(),
                request_id="charge-soon",
            )
        )
        assert again.id == soon.id
        before_use = datetime.now(UTC)

        used = await ledger.UseCredits(
            pb.UseCreditsRequest(client_id=client_id, credit_type_id=massage.id, amount=3, request_id="use-1")
        )
        taken_from = {e.lot_id: -e.amount for e in used.entries if e.account == "client"}
        assert taken_from == {soon.id: 2, late.id: 1}
        assert sum(e.amount for e in used.entries) == 0 and used.client_change == -3
        replay = await ledger.UseCredits(
            pb.UseCreditsRequest(client_id=client_id, credit_type_id=massage.id, amount=3, request_id="use-1")
        )
        assert replay.id == used.id

        assert await balance(ledger, client_id) == 4
        assert await balance(ledger, client_id, before_use) == 7
        assert await balance(ledger, client_id, before_use - timedelta(days=1)) == 0
        reply = await ledger.GetCreditBalances(pb.GetCreditBalancesRequest(client_id=client_id))
        (only,) = reply.balances
        assert [(lot.id, lot.remaining) for lot in only.lots] == [(late.id, 4)]

        with pytest.raises(grpc.aio.AioRpcError) as short:
            await ledger.UseCredits(pb.UseCreditsRequest(client_id=client_id, credit_type_id=massage.id, amount=5))
        assert short.value.code() is grpc.StatusCode.FAILED_PRECONDITION

        back = await ledger.ReverseUse(pb.ReverseUseRequest(transaction_id=used.id, note="cancelled in time"))
        assert (back.kind, back.client_change, back.reverses_id) == ("reverse", 3, used.id)
        with pytest.raises(grpc.aio.AioRpcError) as twice:
            await ledger.ReverseUse(pb.ReverseUseRequest(transaction_id=used.id))
        assert twice.value.code() in (grpc.StatusCode.ABORTED, grpc.StatusCode.ALREADY_EXISTS)
        assert await balance(ledger, client_id) == 7

        history = await ledger.ListLedgerTransactions(pb.ListLedgerTransactionsRequest(client_id=client_id))
        assert [t.kind for t in history.transactions] == ["reverse", "use", "charge", "charge"]

        with pytest.raises(grpc.aio.AioRpcError) as bad:
            await ledger.ChargeCredits(
                pb.ChargeCreditsRequest(client_id=client_id, credit_type_id=massage.id, amount=0, expires_on="soon")
            )
        assert bad.value.code() is grpc.StatusCode.INVALID_ARGUMENT

    with bind_call_context(staff(uuid.uuid4())):
        with pytest.raises(grpc.aio.AioRpcError) as other_tenant:
            await ledger.ReverseUse(pb.ReverseUseRequest(transaction_id=used.id))
        assert other_tenant.value.code() is grpc.StatusCode.NOT_FOUND
        assert await balance(ledger, client_id) == 0


async def test_of_sixteen_concurrent_uses_of_the_last_unit_exactly_one_succeeds(
    ledger: pb_grpc.LedgerServiceStub, clients: client_grpc.ClientRecordsStub
) -> None:
    with bind_call_context(staff(uuid.uuid4())):
        client_id = await new_client(clients, "Race")
        massage = await sessions_type(ledger)
        for _ in range(2):
            await ledger.ChargeCredits(
                pb.ChargeCreditsRequest(client_id=client_id, credit_type_id=massage.id, amount=1)
            )

        async def take() -> grpc.StatusCode:
            try:
                await ledger.UseCredits(pb.UseCreditsRequest(client_id=client_id, credit_type_id=massage.id, amount=1))
            except grpc.aio.AioRpcError as exc:
                return exc.code()
            return grpc.StatusCode.OK

        outcomes = await asyncio.gather(*(take() for _ in range(16)))
        assert outcomes.count(grpc.StatusCode.OK) == 2
        assert set(outcomes) == {grpc.StatusCode.OK, grpc.StatusCode.FAILED_PRECONDITION}
        assert await balance(ledger, client_id) == 0


async def test_the_schema_refuses_an_overdraft_a_changed_entry_and_an_unbalanced_transaction(
    ledger: pb_grpc.LedgerServiceStub, clients: client_grpc.ClientRecordsStub, engine: AsyncEngine
) -> None:
    tenant = uuid.uuid4()
    with bind_call_context(staff(tenant)):
        client_id = await new_client(clients, "Schema")
        massage = await sessions_type(ledger)
        lot = await ledger.ChargeCredits(
            pb.ChargeCreditsRequest(client_id=client_id, credit_type_id=massage.id, amount=1)
        )

    params = {"t": tenant, "l": uuid.UUID(lot.id), "x": uuid.uuid4()}
    transaction = (
        "INSERT INTO ledger_transactions (tenant_id, id, kind, effective_at, recorded_at)"
        " VALUES (:t, :x, 'use', now(), now())"
    )

    def entry(account: str, amount: int) -> str:
        return (
            "INSERT INTO ledger_entries (tenant_id, transaction_id, lot_id, account, amount, effective_at, kind)"
            f" VALUES (:t, :x, :l, '{account}', {amount}, now(), 'use')"
        )

    sessions = session_factory(engine)
    for statements, refusal in (
        ([transaction, entry("client", -2), entry("used", 2)], "the lot would hold -1 of its 1"),
        ([transaction, entry("client", -1)], "add up to -1"),
        (["UPDATE ledger_entries SET amount = 5 WHERE tenant_id = :t AND lot_id = :l"], "never changed or deleted"),
        (["DELETE FROM ledger_entries WHERE tenant_id = :t AND lot_id = :l"], "never changed or deleted"),
    ):
        async with sessions() as session:
            with pytest.raises(DBAPIError, match=refusal):
                for statement in statements:
                    await session.execute(text(statement), params)
                await session.commit()

    with bind_call_context(staff(tenant)):
        assert await balance(ledger, client_id) == 1


async def test_the_sweep_expires_what_is_left_at_the_business_midnight_once(
    ledger: pb_grpc.LedgerServiceStub,
    clients: client_grpc.ClientRecordsStub,
    catalogue: cat_grpc.CatalogueServiceStub,
    billing_settings: BillingSettings,
    engine: AsyncEngine,
) -> None:
    tenant = uuid.uuid4()
    with bind_call_context(staff(tenant)):
        client_id = await new_client(clients, "Expiring")
        massage = await sessions_type(ledger)
        # Business timezone not set: UTC. The lot's last day is tomorrow, far before any other test's lot ends.
        last_day = datetime.now(UTC).date() + timedelta(days=1)
        lot = await ledger.ChargeCredits(
            pb.ChargeCreditsRequest(
                client_id=client_id, credit_type_id=massage.id, amount=3, expires_on=last_day.isoformat()
            )
        )
        await ledger.UseCredits(pb.UseCreditsRequest(client_id=client_id, credit_type_id=massage.id, amount=1))

    expires_at = aware(lot.expires_at)
    assert expires_at == datetime(last_day.year, last_day.month, last_day.day, tzinfo=UTC) + timedelta(days=1)
    sessions = session_factory(engine)
    expirer = CreditExpirer(
        lambda: SqlAlchemyBillingUnitOfWork(
            sessions,
            nats_prefix=billing_settings.nats_prefix,
            client_directory=GrpcClientDirectory(clients),
            business_calendar=GrpcBusinessCalendar(catalogue),
        ),
        interval_seconds=60,
        batch_size=1,
        clock=lambda: expires_at + timedelta(hours=5),
    )
    # Two replicas sweeping at once expire the lot once.
    expired = await asyncio.gather(expirer.run_once(), expirer.run_once())
    assert sum(expired) >= 1
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT amount, effective_at FROM ledger_entries"
                    " WHERE tenant_id = :t AND lot_id = :l AND account = 'expired'"
                ),
                {"t": tenant, "l": uuid.UUID(lot.id)},
            )
        ).all()
    assert [(r.amount, r.effective_at) for r in rows] == [(2, expires_at)]
    with bind_call_context(staff(tenant)):
        assert await balance(ledger, client_id, expires_at - timedelta(microseconds=1)) == 2
        assert await balance(ledger, client_id, expires_at) == 0
        history = await ledger.ListLedgerTransactions(pb.ListLedgerTransactionsRequest(client_id=client_id))
        assert history.transactions[0].kind == "expire"


async def test_credits_follow_a_client_merge_and_return_on_the_unmerge(
    ledger: pb_grpc.LedgerServiceStub,
    clients: client_grpc.ClientRecordsStub,
    client_merges: client_grpc.ClientMergesStub,
) -> None:
    with bind_call_context(staff(uuid.uuid4())):
        survivor = await new_client(clients, "Survivor")
        duplicate = await new_client(clients, "Duplicate")
        massage = await sessions_type(ledger)
        await ledger.ChargeCredits(pb.ChargeCreditsRequest(client_id=survivor, credit_type_id=massage.id, amount=2))
        await ledger.ChargeCredits(pb.ChargeCreditsRequest(client_id=duplicate, credit_type_id=massage.id, amount=5))

        async def balances_are(expected: tuple[int, int]) -> bool:
            return (await balance(ledger, survivor), await balance(ledger, duplicate)) == expected

        merge = await client_merges.MergeClients(
            client_pb.MergeClientsRequest(survivor_id=survivor, merged_ids=[duplicate])
        )
        await wait_until(lambda: balances_are((7, 0)))
        # The survivor uses what came with the merge; the unmerge returns the duplicate's lot as it is now.
        await ledger.UseCredits(pb.UseCreditsRequest(client_id=survivor, credit_type_id=massage.id, amount=6))
        await client_merges.UnmergeClients(client_pb.UnmergeClientsRequest(merge_id=merge.id))
        await wait_until(lambda: balances_are((0, 1)))
        # A use of the merged-away id goes to the survivor's lots while merged; after the unmerge it is its own.
        used = await ledger.UseCredits(pb.UseCreditsRequest(client_id=duplicate, credit_type_id=massage.id, amount=1))
        assert used.client_id == duplicate
        assert await balances_are((0, 0))


async def test_a_visit_is_paid_by_the_credits_expiring_first_among_those_its_service_takes_and_once(
    ledger: pb_grpc.LedgerServiceStub, clients: client_grpc.ClientRecordsStub
) -> None:
    with bind_call_context(staff(uuid.uuid4())):
        client_id = await new_client(clients, "Visitor")
        massage = await sessions_type(ledger)
        wallet = await ledger.CreateCreditType(pb.CreateCreditTypeRequest(name="Wallet", currency="EUR"))
        service_id, other_service = str(uuid.uuid4()), str(uuid.uuid4())
        rules = await ledger.SetServiceCreditRules(
            pb.ServiceCreditRules(
                service_id=service_id,
                rules=[
                    pb.ServiceCreditRule(credit_type_id=massage.id, units=1),
                    pb.ServiceCreditRule(credit_type_id=wallet.id, units=6000),
                ],
            )
        )
        assert len(rules.rules) == 2
        got = await ledger.GetServiceCreditRules(pb.GetServiceCreditRulesRequest(service_id=service_id))
        assert {(r.credit_type_id, r.units) for r in got.rules} == {(massage.id, 1), (wallet.id, 6000)}

        quote = await ledger.QuoteVisit(pb.QuoteVisitRequest(client_id=client_id, service_id=service_id))
        assert (quote.uses_credits, quote.covered) == (True, False)
        today = datetime.now(UTC).date()
        await ledger.ChargeCredits(
            pb.ChargeCreditsRequest(
                client_id=client_id,
                credit_type_id=massage.id,
                amount=2,
                expires_on=(today + timedelta(days=30)).isoformat(),
            )
        )
        money = await ledger.ChargeCredits(
            pb.ChargeCreditsRequest(
                client_id=client_id,
                credit_type_id=wallet.id,
                amount=10000,
                expires_on=(today + timedelta(days=5)).isoformat(),
            )
        )
        # The wallet's money expires first, so it pays.
        quote = await ledger.QuoteVisit(pb.QuoteVisitRequest(client_id=client_id, service_id=service_id))
        assert (quote.covered, quote.credit_type.id, quote.units) == (True, wallet.id, 6000)
        assert [(lot.lot_id, lot.units) for lot in quote.lots] == [(money.id, 6000)]

        appointment_id = str(uuid.uuid4())
        first = await ledger.CheckIn(
            pb.CheckInRequest(client_id=client_id, service_id=service_id, appointment_id=appointment_id)
        )
        assert (first.method, first.transaction.client_change) == ("staff", -6000)
        with pytest.raises(grpc.aio.AioRpcError) as twice:
            await ledger.CheckIn(
                pb.CheckInRequest(client_id=client_id, service_id=service_id, appointment_id=appointment_id)
            )
        assert twice.value.code() in (grpc.StatusCode.ABORTED, grpc.StatusCode.ALREADY_EXISTS)

        # The wallet cannot pay again (4,000 left): the sessions do.
        second = await ledger.CheckIn(pb.CheckInRequest(client_id=client_id, service_id=service_id))
        assert second.transaction.entries[0].credit_type_id == massage.id
        # Attendance alone, and a service no credits pay for, consume nothing.
        for request in (
            pb.CheckInRequest(client_id=client_id),
            pb.CheckInRequest(client_id=client_id, service_id=other_service),
        ):
            plain = await ledger.CheckIn(request)
            assert not plain.HasField("transaction")
        await ledger.UseCredits(pb.UseCreditsRequest(client_id=client_id, credit_type_id=massage.id, amount=1))
        with pytest.raises(grpc.aio.AioRpcError) as empty:
            await ledger.CheckIn(pb.CheckInRequest(client_id=client_id, service_id=service_id))
        assert empty.value.code() is grpc.StatusCode.FAILED_PRECONDITION

        # The attendance log: four check-ins (the refused one left none), newest first, with what each took.
        log = await ledger.ListCheckIns(
            pb.ListCheckInsRequest(client_id=client_id, page=types_pb2.PageRequest(page_size=3))
        )
        assert [c.id for c in log.check_ins] == [plain.id, log.check_ins[1].id, second.id]
        assert log.page.next_page_token
        rest = await ledger.ListCheckIns(
            pb.ListCheckInsRequest(client_id=client_id, page=types_pb2.PageRequest(page_token=log.page.next_page_token))
        )
        assert [(c.id, c.appointment_id, c.transaction.client_change) for c in rest.check_ins] == [
            (first.id, appointment_id, -6000)
        ]


async def test_an_erasure_keeps_the_ledger_and_drops_the_notes_written_about_the_client(
    ledger: pb_grpc.LedgerServiceStub, clients: client_grpc.ClientRecordsStub
) -> None:
    with bind_call_context(staff(uuid.uuid4())):
        client_id = await new_client(clients, "Erin")
        massage = await sessions_type(ledger)
        await ledger.ChargeCredits(
            pb.ChargeCreditsRequest(client_id=client_id, credit_type_id=massage.id, amount=3, note="gift from her ex")
        )
        await ledger.UseCredits(
            pb.UseCreditsRequest(client_id=client_id, credit_type_id=massage.id, amount=1, note="back pain again")
        )
        await ledger.CheckIn(pb.CheckInRequest(client_id=client_id, note="came with her therapist"))
        await clients.EraseClient(client_pb.EraseClientRequest(id=client_id, confirm=True))

        async def notes_gone() -> bool:
            history = await ledger.ListLedgerTransactions(pb.ListLedgerTransactionsRequest(client_id=client_id))
            return all(t.note == "" for t in history.transactions)

        await wait_until(notes_gone)
        history = await ledger.ListLedgerTransactions(pb.ListLedgerTransactionsRequest(client_id=client_id))
        assert [(t.kind, t.client_change) for t in history.transactions] == [("use", -1), ("charge", 3)]
        balances = await ledger.GetCreditBalances(pb.GetCreditBalancesRequest(client_id=client_id))
        assert [(b.balance, [lot.note for lot in b.lots]) for b in balances.balances] == [(2, [""])]


async def test_the_credit_report_sums_each_types_movements_over_the_business_days(
    ledger: pb_grpc.LedgerServiceStub, clients: client_grpc.ClientRecordsStub
) -> None:
    with bind_call_context(staff(uuid.uuid4())):
        massage = await sessions_type(ledger)
        minutes = await ledger.CreateCreditType(pb.CreateCreditTypeRequest(name="Sauna", unit="minute"))
        for name in ("Rep", "Ort"):
            client_id = await new_client(clients, name)
            await ledger.ChargeCredits(
                pb.ChargeCreditsRequest(client_id=client_id, credit_type_id=massage.id, amount=5)
            )
            used = await ledger.UseCredits(
                pb.UseCreditsRequest(client_id=client_id, credit_type_id=massage.id, amount=2)
            )
        await ledger.ReverseUse(pb.ReverseUseRequest(transaction_id=used.id))
        await ledger.ChargeCredits(pb.ChargeCreditsRequest(client_id=client_id, credit_type_id=minutes.id, amount=300))
        today = datetime.now(UTC).date()
        report = await ledger.CreditReport(
            pb.CreditReportRequest(from_day=(today - timedelta(days=1)).isoformat(), to_day=today.isoformat())
        )
        assert report.timezone == "UTC"
        assert [(r.credit_type.name, r.charged, r.used, r.restored, r.expired, r.clients) for r in report.rows] == [
            ("Massage 60", 10, 4, 2, 0, 2),
            ("Sauna", 300, 0, 0, 0, 1),
        ]
        earlier = await ledger.CreditReport(pb.CreditReportRequest(from_day="2020-01-01", to_day="2020-12-31"))
        assert list(earlier.rows) == []
        with pytest.raises(grpc.aio.AioRpcError) as too_long:
            await ledger.CreditReport(pb.CreditReportRequest(from_day="2020-01-01", to_day="2022-01-01"))
        assert too_long.value.code() is grpc.StatusCode.INVALID_ARGUMENT
