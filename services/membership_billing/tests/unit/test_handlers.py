"""Invoice and payment use cases through the fake unit of work: what is asked of the client service, what is
stored, which events leave, and what is refused before anything is written."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from membership_billing_svc.domain import commands, events
from membership_billing_svc.domain.invoices import InvoiceStatus, LineInput
from membership_billing_svc.domain.payments import PaymentInput, PaymentStatus
from membership_billing_svc.service_layer import handlers
from platform_core.errors import Conflict, InvalidArgument

from . import fakes

NOW = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
TENANT = uuid.uuid4()
MASSAGE = LineInput("Massage 60", "1", 8000, 0)


def draft(client_id: uuid.UUID, *lines: LineInput, currency: str = "EUR") -> commands.CreateInvoice:
    return commands.CreateInvoice(TENANT, client_id, currency, lines or (MASSAGE,), 14, "", NOW)


def paid(
    client_id: uuid.UUID, amount: int, *, invoice_id: uuid.UUID | None = None, request_id: str | None = None
) -> commands.RecordPayment:
    return commands.RecordPayment(
        TENANT, client_id, PaymentInput(amount, "EUR", "cash", NOW), invoice_id, request_id, NOW
    )


async def issued(uow: fakes.FakeUnitOfWork, client_id: uuid.UUID, *lines: LineInput) -> uuid.UUID:
    invoice = await handlers.create_invoice(draft(client_id, *lines), uow)
    await handlers.issue_invoice(commands.IssueInvoice(TENANT, invoice.id, client_id, NOW.date(), NOW), uow)
    return invoice.id


async def test_an_invoice_is_drafted_for_the_survivor_of_a_merged_client_and_issued_with_its_name() -> None:
    uow = fakes.FakeUnitOfWork()
    anna = uow.clients.add("Anna Berg")
    merged_away = uow.clients.add("Anna B.", merged_into=anna)

    invoice = await handlers.create_invoice(draft(merged_away), uow)
    assert invoice.client_id == anna
    assert uow.stores.invoices[invoice.id].status is InvoiceStatus.DRAFT
    assert uow.published == []

    await handlers.issue_invoice(commands.IssueInvoice(TENANT, invoice.id, anna, date(2030, 3, 5), NOW), uow)
    stored = uow.stores.invoices[invoice.id]
    assert (stored.status, stored.number, stored.bill_to_name) == (InvoiceStatus.ISSUED, 1, "Anna Berg")
    (fact,) = uow.published_of(events.InvoiceIssued)
    assert (fact.number, fact.total_minor, fact.due_date) == (1, 8000, date(2030, 3, 19))


async def test_numbers_follow_one_another_per_business() -> None:
    uow = fakes.FakeUnitOfWork()
    client = uow.clients.add("Ben")
    for _ in range(3):
        await issued(uow, client)
    assert sorted(e.number for e in uow.published_of(events.InvoiceIssued)) == [1, 2, 3]


async def test_bad_terms_and_an_unknown_client_are_refused_before_anything_is_written() -> None:
    uow = fakes.FakeUnitOfWork()
    client = uow.clients.add("Cleo")

    with pytest.raises(InvalidArgument) as bad:
        await handlers.create_invoice(draft(client, currency="QQQ"), uow)
    assert [v.field for v in bad.value.violations] == ["currency"]
    with pytest.raises(InvalidArgument) as unknown:
        await handlers.create_invoice(draft(uuid.uuid4()), uow)
    assert [v.field for v in unknown.value.violations] == ["client_id"]
    assert (uow.stores.invoices, uow.commits) == ({}, 0)


async def test_issuing_refuses_when_the_invoice_changed_client_since_it_was_read() -> None:
    uow = fakes.FakeUnitOfWork()
    anna, ben = uow.clients.add("Anna"), uow.clients.add("Ben")
    invoice = await handlers.create_invoice(draft(anna), uow)

    with pytest.raises(Conflict) as refused:
        await handlers.issue_invoice(commands.IssueInvoice(TENANT, invoice.id, ben, NOW.date(), NOW), uow)
    assert refused.value.reason == "RETRY"
    assert uow.stores.invoices[invoice.id].status is InvoiceStatus.DRAFT


async def test_a_draft_is_edited_at_its_version_only() -> None:
    uow = fakes.FakeUnitOfWork()
    client = uow.clients.add("Dora")
    invoice = await handlers.create_invoice(draft(client), uow)
    two = LineInput("Massage 60", "2", 8000, 0)

    edited = await handlers.update_draft(
        commands.UpdateDraft(TENANT, invoice.id, "EUR", (two,), 7, "", invoice.version, NOW), uow
    )
    assert edited.total_minor == 16000
    with pytest.raises(Conflict):
        await handlers.update_draft(
            commands.UpdateDraft(TENANT, invoice.id, "EUR", (MASSAGE,), 7, "", invoice.version - 1, NOW), uow
        )
    assert uow.stores.invoices[invoice.id].total_minor == 16000


async def test_a_payment_pays_the_oldest_open_invoices_and_the_rest_is_credit_for_the_next_one() -> None:
    uow = fakes.FakeUnitOfWork()
    client = uow.clients.add("Emil")
    first, second = await issued(uow, client), await issued(uow, client)

    payment = await handlers.record_payment(paid(client, 12000), uow)
    assert [(a.invoice_id, a.amount_minor) for a in payment.allocations] == [(first, 8000), (second, 4000)]
    assert uow.stores.invoices[first].status is InvoiceStatus.PAID
    assert uow.stores.invoices[second].status is InvoiceStatus.PARTIALLY_PAID

    credit = await handlers.record_payment(paid(client, 10000), uow)
    assert credit.unallocated_minor == 6000
    # The client's credit pays a newly issued invoice at once, as far as it goes.
    third = uow.stores.invoices[await issued(uow, client)]
    assert (third.status, third.paid_minor) == (InvoiceStatus.PARTIALLY_PAID, 6000)
    assert uow.stores.payments[credit.id].unallocated_minor == 0


async def test_a_retried_payment_returns_the_first_and_a_reused_request_id_is_refused() -> None:
    uow = fakes.FakeUnitOfWork()
    client = uow.clients.add("Fay")

    first = await handlers.record_payment(paid(client, 5000, request_id="r-1"), uow)
    again = await handlers.record_payment(paid(client, 5000, request_id="r-1"), uow)
    assert again.id == first.id
    assert len(uow.stores.payments) == 1
    assert len(uow.published_of(events.PaymentRecorded)) == 1
    with pytest.raises(Conflict) as reused:
        await handlers.record_payment(paid(client, 7000, request_id="r-1"), uow)
    assert reused.value.reason == "REQUEST_ID_REUSED"


async def test_a_payment_for_an_invoice_of_nobody_here_is_refused() -> None:
    uow = fakes.FakeUnitOfWork()
    client = uow.clients.add("Gus")
    with pytest.raises(InvalidArgument) as refused:
        await handlers.record_payment(paid(client, 5000, invoice_id=uuid.uuid4()), uow)
    assert [v.field for v in refused.value.violations] == ["invoice_id"]
    assert uow.stores.payments == {}


async def test_a_refund_reopens_what_the_payment_paid() -> None:
    uow = fakes.FakeUnitOfWork()
    client = uow.clients.add("Hana")
    invoice_id = await issued(uow, client)
    payment = await handlers.record_payment(paid(client, 8000, invoice_id=invoice_id), uow)

    refunded = await handlers.refund_payment(commands.RefundPayment(TENANT, payment.id, "card dispute", NOW), uow)
    assert refunded.status is PaymentStatus.REFUNDED
    assert uow.stores.invoices[invoice_id].status is InvoiceStatus.ISSUED
    (fact,) = uow.published_of(events.PaymentRefunded)
    assert fact.reason == "card dispute"


async def test_a_voided_invoice_is_no_longer_owed() -> None:
    uow = fakes.FakeUnitOfWork()
    client = uow.clients.add("Ida")
    invoice_id = await issued(uow, client)

    await handlers.void_invoice(commands.VoidInvoice(TENANT, invoice_id, "issued twice", NOW), uow)
    assert uow.stores.invoices[invoice_id].status is InvoiceStatus.VOID
    assert [e.reason for e in uow.published_of(events.InvoiceVoided)] == ["issued twice"]


async def test_an_opening_balance_owed_opens_a_receivable_and_one_held_is_credit() -> None:
    uow = fakes.FakeUnitOfWork()
    owes, holds = uuid.uuid4(), uuid.uuid4()

    await handlers.open_client_account(commands.OpenClientAccount(TENANT, owes, 2500, "eur", uuid.uuid4(), NOW), uow)
    await handlers.open_client_account(commands.OpenClientAccount(TENANT, holds, -4000, "EUR", uuid.uuid4(), NOW), uow)
    (receivable,) = uow.stores.invoices.values()
    assert (receivable.client_id, receivable.total_minor, receivable.currency) == (owes, 2500, "EUR")
    (credit,) = uow.stores.payments.values()
    assert (credit.client_id, credit.unallocated_minor) == (holds, 4000)
    with pytest.raises(InvalidArgument) as made_up:
        await handlers.open_client_account(commands.OpenClientAccount(TENANT, owes, 100, "QQQ", uuid.uuid4(), NOW), uow)
    assert [v.field for v in made_up.value.violations] == ["opening_balance.currency"]


async def test_each_stage_of_an_open_invoice_is_told_once_on_the_business_calendar() -> None:
    # 20:00 UTC is already the next day in Auckland.
    late = datetime(2030, 3, 4, 20, 0, tzinfo=UTC)
    uow = fakes.FakeUnitOfWork(business_calendar=fakes.FakeBusinessCalendar("Pacific/Auckland"))
    client = uow.clients.add("Jon")
    invoice = await handlers.create_invoice(commands.CreateInvoice(TENANT, client, "NZD", (MASSAGE,), 0, "", late), uow)
    await handlers.issue_invoice(commands.IssueInvoice(TENANT, invoice.id, client, date(2030, 3, 5), late), uow)

    told = await handlers.notify_payments_due(commands.NotifyPaymentsDue(TENANT, 3, 50, late), uow)
    assert told == 1
    (due,) = uow.published_of(events.PaymentDue)
    assert due.due_date == date(2030, 3, 5)
    assert await handlers.notify_payments_due(commands.NotifyPaymentsDue(TENANT, 3, 50, late), uow) == 0
    # Overdue the next day on Auckland's calendar: a new stage, told once.
    later = late + timedelta(days=1)
    assert await handlers.notify_payments_due(commands.NotifyPaymentsDue(TENANT, 3, 50, later), uow) == 1
