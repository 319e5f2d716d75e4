"""The billing service over gRPC, against real PostgreSQL and NATS (and the client service, whose events
open accounts and merge clients)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import grpc
import nats
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from atrium.client.v1 import client_service_pb2 as client_pb
from atrium.client.v1 import client_service_pb2_grpc as client_grpc
from atrium.common.v1 import events_pb2 as envelope_pb2
from atrium.common.v1 import types_pb2
from atrium.membership_billing.v1 import billing_pb2 as pb
from atrium.membership_billing.v1 import billing_pb2_grpc as pb_grpc
from atrium.membership_billing.v1 import events_pb2
from atrium.scheduling.v1 import catalogue_pb2 as cat
from atrium.scheduling.v1 import catalogue_pb2_grpc as cat_grpc
from membership_billing_svc.config import BillingSettings
from platform_core.db import create_engine
from platform_core.grpc.context import CallContext, Principal, bind_call_context
from platform_core.grpc.errors import from_rpc_error
from platform_core.messaging.envelope import stream_name
from platform_dev.testing.plugin import wait_until


@dataclass
class Business:
    tenant: uuid.UUID

    def staff(self) -> CallContext:
        return CallContext(self.tenant, Principal("staff", str(uuid.uuid4()), "owner"))

    def portal(self, client_id: str) -> CallContext:
        return CallContext(self.tenant, Principal("portal", str(uuid.uuid4()), "", client_id))


@pytest.fixture
def billing(billing_channel: grpc.aio.Channel) -> pb_grpc.BillingServiceStub:
    return pb_grpc.BillingServiceStub(billing_channel)


@pytest.fixture
def clients(billing_client_channel: grpc.aio.Channel) -> client_grpc.ClientRecordsStub:
    return client_grpc.ClientRecordsStub(billing_client_channel)


@pytest.fixture
def client_merges(billing_client_channel: grpc.aio.Channel) -> client_grpc.ClientMergesStub:
    return client_grpc.ClientMergesStub(billing_client_channel)


def line(description: str, quantity: str, price: int, tax_bp: int = 0) -> pb.InvoiceLineInput:
    return pb.InvoiceLineInput(description=description, quantity=quantity, unit_price_minor=price, tax_rate_bp=tax_bp)


async def new_client(clients: client_grpc.ClientRecordsStub, first_name: str, **profile: object) -> str:
    request = client_pb.CreateClientRequest(first_name=first_name, last_name="Tester")
    if profile:
        request.profile.CopyFrom(client_pb.ClientProfile(**profile))  # type: ignore[arg-type]
    return (await clients.CreateClient(request)).id


async def issued_invoice(
    billing: pb_grpc.BillingServiceStub, client_id: str, amount: int, currency: str = "EUR", issue_date: str = ""
) -> pb.Invoice:
    draft = await billing.CreateInvoice(
        pb.CreateInvoiceRequest(client_id=client_id, currency=currency, lines=[line("Session", "1", amount)])
    )
    return await billing.IssueInvoice(pb.IssueInvoiceRequest(invoice_id=draft.id, issue_date=issue_date))


async def test_an_invoice_is_drafted_edited_issued_with_the_next_number_and_the_bill_to_name(
    billing: pb_grpc.BillingServiceStub, clients: client_grpc.ClientRecordsStub
) -> None:
    business = Business(uuid.uuid4())
    with bind_call_context(business.staff()):
        client_id = await new_client(clients, "Ada")
        draft = await billing.CreateInvoice(
            pb.CreateInvoiceRequest(
                client_id=client_id,
                currency="eur",
                lines=[line("Haircut", "1.5", 333, 1900)],
                payment_terms_days=14,
                notes="Thank you",
            )
        )
        assert (draft.status, draft.number, draft.total_minor) == ("draft", 0, 595)
        edited = await billing.UpdateDraft(
            pb.UpdateDraftRequest(
                invoice_id=draft.id,
                currency="EUR",
                lines=[line("Haircut", "1.5", 333, 1900), line("Colour", "3", 1001, 700)],
                payment_terms_days=14,
                version=draft.version,
            )
        )
        assert (edited.subtotal_minor, edited.tax_minor, edited.total_minor) == (3503, 305, 3808)
        with pytest.raises(grpc.aio.AioRpcError) as stale:
            await billing.UpdateDraft(pb.UpdateDraftRequest(invoice_id=draft.id, currency="EUR", version=draft.version))
        assert from_rpc_error(stale.value).reason == "STALE_VERSION"

        issued = await billing.IssueInvoice(pb.IssueInvoiceRequest(invoice_id=draft.id, issue_date="2026-03-01"))
        assert (issued.status, issued.number, issued.due_date) == ("issued", 1, "2026-03-15")
        assert issued.bill_to_name == "Ada Tester" and [x.quantity for x in issued.lines] == ["1.5", "3"]
        with pytest.raises(grpc.aio.AioRpcError) as frozen:
            await billing.UpdateDraft(
                pb.UpdateDraftRequest(invoice_id=draft.id, currency="EUR", version=issued.version)
            )
        assert frozen.value.code() == grpc.StatusCode.FAILED_PRECONDITION

        with pytest.raises(grpc.aio.AioRpcError) as unknown_client:
            await billing.CreateInvoice(pb.CreateInvoiceRequest(client_id=str(uuid.uuid4()), currency="EUR"))
        assert unknown_client.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with bind_call_context(Business(uuid.uuid4()).staff()), pytest.raises(grpc.aio.AioRpcError) as elsewhere:
        await billing.GetInvoice(pb.GetInvoiceRequest(invoice_id=draft.id))
    assert elsewhere.value.code() == grpc.StatusCode.NOT_FOUND


async def test_concurrent_issues_get_distinct_gapless_numbers_and_the_schema_keeps_issued_totals(
    billing: pb_grpc.BillingServiceStub, clients: client_grpc.ClientRecordsStub, billing_settings: BillingSettings
) -> None:
    business = Business(uuid.uuid4())
    with bind_call_context(business.staff()):
        client_id = await new_client(clients, "Grace")
        drafts = [
            await billing.CreateInvoice(
                pb.CreateInvoiceRequest(client_id=client_id, currency="USD", lines=[line("Class", "1", 1000 + i)])
            )
            for i in range(12)
        ]
        # One draft cannot be issued (no lines): its failed attempt must not use up a number.
        empty = await billing.CreateInvoice(pb.CreateInvoiceRequest(client_id=client_id, currency="USD"))
        results = await asyncio.gather(
            *(billing.IssueInvoice(pb.IssueInvoiceRequest(invoice_id=d.id)) for d in [*drafts, empty]),
            return_exceptions=True,
        )
    numbers = sorted(r.number for r in results if isinstance(r, pb.Invoice))
    assert numbers == list(range(1, 13))
    assert isinstance(results[-1], grpc.aio.AioRpcError)

    engine = create_engine(billing_settings.database_url("membership_billing"))
    try:
        async with engine.begin() as conn:
            with pytest.raises(DBAPIError, match="an issued invoice cannot change"):
                await conn.execute(
                    text("UPDATE invoices SET total_minor = 1, subtotal_minor = 1 WHERE tenant_id = :t AND id = :i"),
                    {"t": business.tenant, "i": uuid.UUID(drafts[0].id)},
                )
        async with engine.begin() as conn:
            with pytest.raises(DBAPIError, match="status cannot change"):
                await conn.execute(
                    text("UPDATE invoices SET status = 'draft' WHERE tenant_id = :t AND id = :i"),
                    {"t": business.tenant, "i": uuid.UUID(drafts[0].id)},
                )
    finally:
        await engine.dispose()


async def test_payments_allocate_oldest_first_keep_credit_are_idempotent_and_refunds_reopen(
    billing: pb_grpc.BillingServiceStub, clients: client_grpc.ClientRecordsStub
) -> None:
    business = Business(uuid.uuid4())
    with bind_call_context(business.staff()):
        client_id = await new_client(clients, "Linus")
        older = await issued_invoice(billing, client_id, 2000, issue_date="2026-01-01")
        newer = await issued_invoice(billing, client_id, 3000, issue_date="2026-02-01")
        request = pb.RecordPaymentRequest(
            client_id=client_id,
            amount=types_pb2.Money(amount_minor=6000, currency="EUR"),
            method="bank_transfer",
            reference="SEPA 42",
            request_id="pay-1",
        )
        first, retry = await billing.RecordPayment(request), await billing.RecordPayment(request)
        assert first.id == retry.id
        assert [(a.invoice_id, a.amount_minor) for a in first.allocations] == [(older.id, 2000), (newer.id, 3000)]
        assert first.unallocated_minor == 1000
        payments = await billing.ListPayments(pb.ListPaymentsRequest(client_id=client_id))
        assert [p.id for p in payments.payments] == [first.id]

        with pytest.raises(grpc.aio.AioRpcError) as mixed:
            await billing.RecordPayment(
                pb.RecordPaymentRequest(
                    client_id=client_id,
                    amount=types_pb2.Money(amount_minor=100, currency="USD"),
                    method="cash",
                    invoice_id=older.id,
                )
            )
        assert mixed.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert from_rpc_error(mixed.value).violations[0].field == "amount.currency"

        balance = await billing.GetClientBalance(pb.GetClientBalanceRequest(client_id=client_id))
        (eur,) = balance.currencies
        assert (eur.outstanding_minor, eur.open_invoice_count, eur.credit_minor) == (0, 0, 1000)

        refunded = await billing.RefundPayment(pb.RefundPaymentRequest(payment_id=first.id, reason="bounced"))
        assert refunded.status == "refunded"
        reopened = await billing.GetInvoice(pb.GetInvoiceRequest(invoice_id=older.id))
        assert (reopened.status, reopened.overdue) == ("issued", True)
        balance = await billing.GetClientBalance(pb.GetClientBalanceRequest(client_id=client_id))
        (eur,) = balance.currencies
        assert (eur.outstanding_minor, eur.overdue_minor, eur.open_invoice_count) == (5000, 5000, 2)
        assert (eur.oldest_due.invoice_id, eur.credit_minor) == (older.id, 0)

        overdue = await billing.ListInvoices(pb.ListInvoicesRequest(client_id=client_id, overdue_only=True))
        assert {i.id for i in overdue.invoices} == {older.id, newer.id}
        page = await billing.ListInvoices(
            pb.ListInvoicesRequest(client_id=client_id, page=types_pb2.PageRequest(page_size=1))
        )
        assert [i.id for i in page.invoices] == [newer.id] and page.page.next_page_token
        voided = await billing.VoidInvoice(pb.VoidInvoiceRequest(invoice_id=newer.id, reason="duplicate"))
        assert voided.status == "void"

    with bind_call_context(business.portal(client_id)):
        own = await billing.ListInvoices(pb.ListInvoicesRequest())
        assert [i.id for i in own.invoices] == [older.id]
        with pytest.raises(grpc.aio.AioRpcError) as hidden:
            await billing.GetInvoice(pb.GetInvoiceRequest(invoice_id=newer.id))
        assert hidden.value.code() == grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.aio.AioRpcError) as staff_only:
            await billing.GetClientBalance(pb.GetClientBalanceRequest(client_id=client_id))
        assert staff_only.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_concurrent_payments_never_overpay_and_a_raced_request_id_records_once(
    billing: pb_grpc.BillingServiceStub, clients: client_grpc.ClientRecordsStub
) -> None:
    business = Business(uuid.uuid4())
    with bind_call_context(business.staff()):
        client_id = await new_client(clients, "Race")
        invoice = await issued_invoice(billing, client_id, 2000)

        def pay(request_id: str = "", **target: str) -> pb.RecordPaymentRequest:
            return pb.RecordPaymentRequest(
                client_id=client_id,
                amount=types_pb2.Money(amount_minor=1000, currency="EUR"),
                method="cash",
                request_id=request_id,
                **target,
            )

        targeted = await asyncio.gather(
            *(billing.RecordPayment(pay(invoice_id=invoice.id)) for _ in range(3)), return_exceptions=True
        )
        refused = [r for r in targeted if isinstance(r, grpc.aio.AioRpcError)]
        assert len(refused) == 1 and from_rpc_error(refused[0]).reason == "INVOICE_NOT_OPEN"
        paid = await billing.GetInvoice(pb.GetInvoiceRequest(invoice_id=invoice.id))
        assert (paid.status, paid.paid_minor) == ("paid", 2000)

        raced = await asyncio.gather(*(billing.RecordPayment(pay("same-key")) for _ in range(4)))
        assert len({p.id for p in raced}) == 1
        listed = await billing.ListPayments(pb.ListPaymentsRequest(client_id=client_id))
        assert len(listed.payments) == 3  # two to the invoice, one (credit) for the raced key


async def test_opening_balances_from_client_created_become_receivable_or_credit(
    billing: pb_grpc.BillingServiceStub, clients: client_grpc.ClientRecordsStub
) -> None:
    business = Business(uuid.uuid4())
    with bind_call_context(business.staff()):
        owes = await new_client(clients, "Owes", opening_balance=types_pb2.Money(amount_minor=4200, currency="EUR"))
        holds = await new_client(clients, "Holds", opening_balance=types_pb2.Money(amount_minor=-1500, currency="JPY"))

        async def balance_of(client_id: str) -> list[pb.CurrencyBalance]:
            reply = await billing.GetClientBalance(pb.GetClientBalanceRequest(client_id=client_id))
            return list(reply.currencies)

        (eur,) = await wait_until(lambda: balance_of(owes))
        assert (eur.currency, eur.outstanding_minor, eur.open_invoice_count) == ("EUR", 4200, 1)
        (jpy,) = await wait_until(lambda: balance_of(holds))
        assert (jpy.currency, jpy.outstanding_minor, jpy.credit_minor) == ("JPY", 0, 1500)
        receivable = await billing.GetInvoice(pb.GetInvoiceRequest(invoice_id=eur.oldest_due.invoice_id))
        assert (receivable.kind, receivable.status, receivable.number) == ("opening_balance", "issued", 0)


async def test_merges_repoint_invoices_and_payments_and_an_unmerge_returns_them(
    billing: pb_grpc.BillingServiceStub,
    clients: client_grpc.ClientRecordsStub,
    client_merges: client_grpc.ClientMergesStub,
) -> None:
    business = Business(uuid.uuid4())
    with bind_call_context(business.staff()):
        survivor = await new_client(clients, "Survivor")
        duplicate = await new_client(clients, "Duplicate")
        kept = await issued_invoice(billing, survivor, 1000)
        moved = await issued_invoice(billing, duplicate, 2000)
        paid = await billing.RecordPayment(
            pb.RecordPaymentRequest(
                client_id=duplicate, amount=types_pb2.Money(amount_minor=500, currency="EUR"), method="cash"
            )
        )

        async def invoices_of(client_id: str) -> set[str]:
            reply = await billing.ListInvoices(pb.ListInvoicesRequest(client_id=client_id))
            return {i.id for i in reply.invoices}

        async def payments_of(client_id: str) -> set[str]:
            reply = await billing.ListPayments(pb.ListPaymentsRequest(client_id=client_id))
            return {p.id for p in reply.payments}

        merge = await client_merges.MergeClients(
            client_pb.MergeClientsRequest(survivor_id=survivor, merged_ids=[duplicate])
        )
        await wait_until(lambda: _equal(invoices_of(survivor), {kept.id, moved.id}))
        assert await payments_of(survivor) == {paid.id} and await invoices_of(duplicate) == set()
        balance = await billing.GetClientBalance(pb.GetClientBalanceRequest(client_id=survivor))
        assert balance.currencies[0].outstanding_minor == 2500

        await client_merges.UnmergeClients(client_pb.UnmergeClientsRequest(merge_id=merge.id))
        await wait_until(lambda: _equal(invoices_of(duplicate), {moved.id}))
        assert await invoices_of(survivor) == {kept.id} and await payments_of(duplicate) == {paid.id}


async def test_an_erasure_keeps_invoices_and_payments_but_drops_their_notes(
    billing: pb_grpc.BillingServiceStub, clients: client_grpc.ClientRecordsStub
) -> None:
    business = Business(uuid.uuid4())
    with bind_call_context(business.staff()):
        client_id = await new_client(clients, "Erin")
        draft = await billing.CreateInvoice(
            pb.CreateInvoiceRequest(
                client_id=client_id, currency="EUR", lines=[line("Session", "1", 900)], notes="allergic to latex"
            )
        )
        issued = await billing.IssueInvoice(pb.IssueInvoiceRequest(invoice_id=draft.id))
        paid = await billing.RecordPayment(
            pb.RecordPaymentRequest(
                client_id=client_id,
                amount=types_pb2.Money(amount_minor=900, currency="EUR"),
                method="cash",
                notes="paid by her husband",
            )
        )
        await clients.EraseClient(client_pb.EraseClientRequest(id=client_id, confirm=True))

        async def notes_gone() -> bool:
            invoice = await billing.GetInvoice(pb.GetInvoiceRequest(invoice_id=draft.id))
            return invoice.notes == ""

        await wait_until(notes_gone)
        kept = await billing.GetInvoice(pb.GetInvoiceRequest(invoice_id=draft.id))
        (payment,) = (await billing.ListPayments(pb.ListPaymentsRequest(client_id=client_id))).payments
    # The financial record stays as issued, bill-to name included; the free text is gone.
    assert (kept.status, kept.total_minor, kept.bill_to_name) == ("paid", 900, issued.bill_to_name)
    assert (payment.id, payment.amount_minor, payment.notes) == (paid.id, 900, "")


async def test_billing_events_are_published_with_their_envelope(
    billing: pb_grpc.BillingServiceStub, clients: client_grpc.ClientRecordsStub, billing_settings: BillingSettings
) -> None:
    business = Business(uuid.uuid4())
    with bind_call_context(business.staff()):
        client_id = await new_client(clients, "Evented")
        invoice = await issued_invoice(billing, client_id, 1234)
        await billing.RecordPayment(
            pb.RecordPaymentRequest(
                client_id=client_id, amount=types_pb2.Money(amount_minor=1234, currency="EUR"), method="card"
            )
        )
    nc = await nats.connect(billing_settings.nats_url)
    try:
        js = nc.jetstream()
        sub = await js.pull_subscribe(
            f"{billing_settings.nats_prefix}.membership_billing.>",
            stream=stream_name(billing_settings.nats_prefix, "membership_billing"),
        )
        seen: dict[str, envelope_pb2.EventEnvelope] = {}

        async def all_three() -> bool:
            try:
                for msg in await sub.fetch(100, timeout=1):
                    await msg.ack()
                    envelope = envelope_pb2.EventEnvelope.FromString(msg.data)
                    if envelope.tenant_id == str(business.tenant):
                        seen[envelope.event_type.rsplit(".", 1)[1]] = envelope
            except TimeoutError:
                pass
            return {"InvoiceIssued", "PaymentRecorded", "InvoicePaid"} <= set(seen)

        await wait_until(all_three, timeout=15)
    finally:
        await nc.close()
    issued = events_pb2.InvoiceIssued()
    assert seen["InvoiceIssued"].payload.Unpack(issued)
    assert (issued.invoice_id, issued.client_id, issued.number, issued.total_minor) == (
        invoice.id,
        client_id,
        invoice.number,
        1234,
    )
    assert seen["InvoicePaid"].aggregate_id == invoice.id


async def _equal(found: object, expected: set[str]) -> bool:
    return bool(await found == expected)  # type: ignore[misc]


async def test_the_clients_credit_pays_invoices_issued_later_oldest_credit_first(
    billing: pb_grpc.BillingServiceStub, clients: client_grpc.ClientRecordsStub
) -> None:
    business = Business(uuid.uuid4())
    with bind_call_context(business.staff()):
        client_id = await new_client(clients, "Cred")
        first = await billing.RecordPayment(
            pb.RecordPaymentRequest(
                client_id=client_id, amount=types_pb2.Money(amount_minor=3000, currency="EUR"), method="cash"
            )
        )
        second = await billing.RecordPayment(
            pb.RecordPaymentRequest(
                client_id=client_id, amount=types_pb2.Money(amount_minor=4000, currency="EUR"), method="card"
            )
        )
        await billing.RecordPayment(
            pb.RecordPaymentRequest(
                client_id=client_id, amount=types_pb2.Money(amount_minor=9000, currency="USD"), method="cash"
            )
        )
        paid = await issued_invoice(billing, client_id, 5000)
        assert (paid.status, paid.paid_minor) == ("paid", 5000)
        partly = await issued_invoice(billing, client_id, 6000)
        assert (partly.status, partly.paid_minor, partly.outstanding_minor) == ("partially_paid", 2000, 4000)

        payments = {p.id: p for p in (await billing.ListPayments(pb.ListPaymentsRequest(client_id=client_id))).payments}
        assert [(a.invoice_id, a.amount_minor) for a in payments[first.id].allocations] == [(paid.id, 3000)]
        assert sorted((a.invoice_id, a.amount_minor) for a in payments[second.id].allocations) == sorted(
            [(paid.id, 2000), (partly.id, 2000)]
        )
        balance = await billing.GetClientBalance(pb.GetClientBalanceRequest(client_id=client_id))
        by_currency = {b.currency: (b.outstanding_minor, b.credit_minor) for b in balance.currencies}
        assert by_currency == {"EUR": (4000, 0), "USD": (0, 9000)}

        # A refund of a payment whose credit paid an invoice opens that invoice again.
        await billing.RefundPayment(pb.RefundPaymentRequest(payment_id=first.id, reason="returned"))
        reopened = await billing.GetInvoice(pb.GetInvoiceRequest(invoice_id=paid.id))
        assert (reopened.status, reopened.outstanding_minor) == ("partially_paid", 3000)


async def test_overdue_is_judged_on_the_business_calendar(
    billing: pb_grpc.BillingServiceStub,
    clients: client_grpc.ClientRecordsStub,
    billing_scheduling_channel: grpc.aio.Channel,
) -> None:
    """Kiritimati (UTC+14) is always at least a day ahead of Pago Pago (UTC-11): an invoice due on Pago Pago's
    today is overdue for a business in Kiritimati and not for one in Pago Pago."""
    catalogue = cat_grpc.CatalogueServiceStub(billing_scheduling_channel)
    due = datetime.now(ZoneInfo("Pacific/Pago_Pago")).date().isoformat()
    for zone, overdue in (("Pacific/Kiritimati", True), ("Pacific/Pago_Pago", False)):
        business = Business(uuid.uuid4())
        with bind_call_context(business.staff()):
            await catalogue.UpdateSchedulingSettings(
                cat.SchedulingSettings(timezone=zone, slot_rules=cat.SlotRules(granularity_minutes=30, horizon_days=60))
            )
            client_id = await new_client(clients, "Due")
            invoice = await issued_invoice(billing, client_id, 1000, issue_date=due)
            assert (invoice.due_date, invoice.overdue) == (due, overdue), zone
            listed = await billing.ListInvoices(pb.ListInvoicesRequest(overdue_only=True))
            assert [i.id for i in listed.invoices] == ([invoice.id] if overdue else [])
            balance = await billing.GetClientBalance(pb.GetClientBalanceRequest(client_id=client_id))
            assert balance.currencies[0].overdue_minor == (1000 if overdue else 0)


async def test_void_and_refund_are_for_owners_and_admins_whatever_door_the_call_comes_through(
    billing: pb_grpc.BillingServiceStub, clients: client_grpc.ClientRecordsStub
) -> None:
    business = Business(uuid.uuid4())
    front_desk = CallContext(business.tenant, Principal("staff", str(uuid.uuid4()), "staff"))
    with bind_call_context(business.staff()):
        client = await new_client(clients, "Refundee")
        invoice = await issued_invoice(billing, client, 1000)
        other = await issued_invoice(billing, client, 700)
        payment = await billing.RecordPayment(
            pb.RecordPaymentRequest(
                client_id=client,
                invoice_id=invoice.id,
                amount=types_pb2.Money(amount_minor=1000, currency="EUR"),
                method="cash",
            )
        )
    with bind_call_context(front_desk):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await billing.VoidInvoice(pb.VoidInvoiceRequest(invoice_id=other.id, reason="typo"))
        assert refused.value.code() is grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await billing.RefundPayment(pb.RefundPaymentRequest(payment_id=payment.id, reason="asked"))
        assert refused.value.code() is grpc.StatusCode.PERMISSION_DENIED
        assert (await billing.GetInvoice(pb.GetInvoiceRequest(invoice_id=other.id))).status == "issued"
    with bind_call_context(CallContext(business.tenant, Principal("staff", str(uuid.uuid4()), "admin"))):
        assert (await billing.VoidInvoice(pb.VoidInvoiceRequest(invoice_id=other.id, reason="typo"))).status == "void"
        refunded = await billing.RefundPayment(pb.RefundPaymentRequest(payment_id=payment.id, reason="asked"))
        assert refunded.status == "refunded"


async def test_an_unmerge_after_a_later_payment_returns_the_payment_with_the_invoice_it_paid(
    billing: pb_grpc.BillingServiceStub,
    clients: client_grpc.ClientRecordsStub,
    client_merges: client_grpc.ClientMergesStub,
) -> None:
    business = Business(uuid.uuid4())
    with bind_call_context(business.staff()):
        survivor = await new_client(clients, "Survivor")
        duplicate = await new_client(clients, "Duplicate")
        kept = await issued_invoice(billing, survivor, 1000)
        moved = await issued_invoice(billing, duplicate, 2000)

        async def invoices_of(client_id: str) -> set[str]:
            reply = await billing.ListInvoices(pb.ListInvoicesRequest(client_id=client_id))
            return {i.id for i in reply.invoices}

        async def payments_of(client_id: str) -> set[str]:
            reply = await billing.ListPayments(pb.ListPaymentsRequest(client_id=client_id))
            return {p.id for p in reply.payments}

        merge = await client_merges.MergeClients(
            client_pb.MergeClientsRequest(survivor_id=survivor, merged_ids=[duplicate])
        )
        await wait_until(lambda: _equal(invoices_of(survivor), {kept.id, moved.id}))
        # After the merge, the survivor pays the moved invoice, and (another payment) its own.
        later = await billing.RecordPayment(
            pb.RecordPaymentRequest(
                client_id=survivor,
                invoice_id=moved.id,
                amount=types_pb2.Money(amount_minor=2000, currency="EUR"),
                method="card",
            )
        )
        own = await billing.RecordPayment(
            pb.RecordPaymentRequest(
                client_id=survivor,
                invoice_id=kept.id,
                amount=types_pb2.Money(amount_minor=400, currency="EUR"),
                method="card",
            )
        )

        await client_merges.UnmergeClients(client_pb.UnmergeClientsRequest(merge_id=merge.id))
        await wait_until(lambda: _equal(invoices_of(duplicate), {moved.id}))
        assert await payments_of(duplicate) == {later.id}
        assert await payments_of(survivor) == {own.id}
        returned = await billing.GetInvoice(pb.GetInvoiceRequest(invoice_id=moved.id))
        assert (returned.client_id, returned.status) == (duplicate, "paid")
        balances = {
            c: (await billing.GetClientBalance(pb.GetClientBalanceRequest(client_id=c))).currencies
            for c in (survivor, duplicate)
        }
        assert [(b.outstanding_minor, b.credit_minor) for b in balances[survivor]] == [(600, 0)]
        assert [(b.outstanding_minor, b.credit_minor) for b in balances[duplicate]] in ([], [(0, 0)])
