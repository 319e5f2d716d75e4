"""Use cases: each runs in one unit of work, so its rows and its events commit together or not at all."""

from __future__ import annotations

import uuid
from datetime import datetime

from membership_billing_svc.adapters.client_directory import BillTo
from membership_billing_svc.domain import commands
from membership_billing_svc.domain.invoices import DraftTerms, Invoice
from membership_billing_svc.domain.payment_due import DueNotice, due_stage
from membership_billing_svc.domain.payments import OPENING_BALANCE_METHOD, Payment, PaymentInput
from membership_billing_svc.service_layer.loyalty_handlers import _earn_points, _take_back_points
from membership_billing_svc.service_layer.unit_of_work import DUPLICATE_REQUEST, BillingUnitOfWork
from platform_core.errors import Conflict, InvalidArgument, NotFound
from platform_core.ids import new_id
from platform_core.validation import Violations


async def _client(uow: BillingUnitOfWork, client_id: uuid.UUID) -> BillTo:
    found = await uow.client_directory.bill_to(client_id)
    if found is None:
        raise InvalidArgument.single("client_id", "is not a client of this business")
    return found


def _terms(cmd: commands.CreateInvoice | commands.UpdateDraft) -> DraftTerms:
    return DraftTerms.checked(cmd.currency, list(cmd.lines), cmd.payment_terms_days, cmd.notes)


async def create_invoice(cmd: commands.CreateInvoice, uow: BillingUnitOfWork) -> Invoice:
    terms = _terms(cmd)
    client = await _client(uow, cmd.client_id)
    async with uow:
        # A merged-away client's invoices are its survivor's.
        invoice = Invoice.draft(cmd.tenant_id, new_id(), client.client_id, terms, cmd.now)
        uow.invoices.add(invoice)
        await uow.commit()
    return invoice


async def update_draft(cmd: commands.UpdateDraft, uow: BillingUnitOfWork) -> Invoice:
    terms = _terms(cmd)
    async with uow:
        invoice = await uow.invoices.get(cmd.tenant_id, cmd.invoice_id)
        invoice.update_draft(terms, version=cmd.version, now=cmd.now)
        await uow.commit()
    return invoice


async def issue_invoice(cmd: commands.IssueInvoice, uow: BillingUnitOfWork) -> Invoice:
    client = await _client(uow, cmd.client_id)
    async with uow:
        invoice = await uow.invoices.get(cmd.tenant_id, cmd.invoice_id)
        invoice.check_issuable()
        if invoice.client_id != cmd.client_id:
            raise Conflict("the invoice's client changed (a merge) while it was issued; try again", reason="RETRY")
        # The number last: the counter row is locked from here to the commit.
        number = await uow.invoices.next_number(cmd.tenant_id)
        invoice.issue(number=number, issue_date=cmd.issue_date, bill_to_name=client.name, now=cmd.now)
        await _apply_client_credit(uow, invoice, cmd.now)
        await uow.commit()
    return invoice


async def _apply_client_credit(uow: BillingUnitOfWork, invoice: Invoice, now: datetime) -> None:
    """Inside a unit already begun: the client's credit in the invoice's currency (what its payments left
    unallocated, oldest first) pays the newly issued invoice as far as it goes."""
    for payment in await uow.payments.with_credit(invoice.tenant_id, invoice.client_id, invoice.currency):
        if not invoice.is_open:
            return
        payment.apply_credit(invoice, now)


async def void_invoice(cmd: commands.VoidInvoice, uow: BillingUnitOfWork) -> Invoice:
    async with uow:
        invoice = await uow.invoices.get(cmd.tenant_id, cmd.invoice_id)
        invoice.void(cmd.reason, cmd.now)
        await uow.commit()
    return invoice


async def record_payment(cmd: commands.RecordPayment, uow: BillingUnitOfWork) -> Payment:
    """A retry with the same request id returns the first payment (and records nothing). The points the
    business's loyalty program gives for it are earned in the same transaction."""
    zone = await uow.business_calendar.timezone()
    tenant_id, given, request_id = cmd.tenant_id, cmd.payment, cmd.request_id
    if request_id:
        async with uow:
            existing = await uow.payments.get_by_request_id(tenant_id, request_id)
        if existing is not None:
            return _replayed(existing, given)
    client = await _client(uow, cmd.client_id)
    try:
        async with uow:
            payment = Payment.received(tenant_id, new_id(), client.client_id, given, now=cmd.now, request_id=request_id)
            if cmd.invoice_id is not None:
                try:
                    target: Invoice | None = await uow.invoices.get(tenant_id, cmd.invoice_id)
                except NotFound:
                    raise InvalidArgument.single("invoice_id", "is not an invoice of this business") from None
                payment.allocate([], target=target, now=cmd.now)
            else:
                open_invoices = await uow.invoices.open_for_client(tenant_id, client.client_id, payment.currency)
                payment.allocate(open_invoices, target=None, now=cmd.now)
            uow.payments.add(payment)
            await _earn_points(
                uow,
                tenant_id,
                client.client_id,
                source="payment",
                source_id=payment.id,
                points_of=lambda program: program.points_for_payment(payment.amount_minor, payment.currency),
                zone=zone,
                now=cmd.now,
            )
            await uow.commit()
    except Conflict as exc:
        if exc.reason != DUPLICATE_REQUEST or not request_id:
            raise
        async with uow:
            first = await uow.payments.get_by_request_id(tenant_id, request_id)
        assert first is not None
        return _replayed(first, given)
    return payment


def _replayed(existing: Payment, given: PaymentInput) -> Payment:
    """The payment first recorded with a request id, when the retry asks for the same payment."""
    if (existing.amount_minor, existing.currency, existing.method) != (
        given.amount_minor,
        given.currency.strip().upper(),
        given.method,
    ):
        raise Conflict("this request id was used for another payment", reason="REQUEST_ID_REUSED")
    return existing


async def refund_payment(cmd: commands.RefundPayment, uow: BillingUnitOfWork) -> Payment:
    async with uow:
        payment = await uow.payments.get(cmd.tenant_id, cmd.payment_id)
        invoices = await uow.invoices.get_many(cmd.tenant_id, [a.invoice_id for a in payment.allocations])
        payment.refund(cmd.reason, {i.id: i for i in invoices}, cmd.now)
        await _take_back_points(uow, cmd.tenant_id, payment.id, cmd.now)
        await uow.commit()
    return payment


async def open_client_account(cmd: commands.OpenClientAccount, uow: BillingUnitOfWork) -> None:
    """A new client's opening balance: owed (positive) becomes an open receivable, held (negative) becomes
    credit. Runs in the consumer's transaction, once per event."""
    if cmd.amount_minor == 0:
        return
    violations = Violations()
    code = violations.currency(cmd.currency, "opening_balance.currency")
    violations.raise_if_any()
    async with uow:
        if cmd.amount_minor > 0:
            uow.invoices.add(
                Invoice.opening_balance(
                    cmd.tenant_id,
                    new_id(),
                    cmd.client_id,
                    amount_minor=cmd.amount_minor,
                    currency=code,
                    today=cmd.now.date(),
                    now=cmd.now,
                    source_event_id=cmd.source_event_id,
                )
            )
        else:
            credit = Payment.received(
                cmd.tenant_id,
                new_id(),
                cmd.client_id,
                PaymentInput(
                    -cmd.amount_minor, code, OPENING_BALANCE_METHOD, received_at=cmd.now, reference="opening balance"
                ),
                now=cmd.now,
                source_event_id=cmd.source_event_id,
                internal_method=True,
            )
            credit.allocate([], target=None, now=cmd.now)
            uow.payments.add(credit)
        await uow.commit()


async def notify_payments_due(cmd: commands.NotifyPaymentsDue, uow: BillingUnitOfWork) -> int:
    """PaymentDue once per invoice and stage, judged on the business's calendar; returns how many were told."""
    zone = await uow.business_calendar.timezone()
    today = cmd.now.astimezone(zone).date()
    told = 0
    async with uow:
        for row in await uow.due_notices.claim(cmd.tenant_id, today, cmd.soon_days, cmd.batch):
            found = due_stage(row.due_date, today, cmd.soon_days)
            if found is None:
                continue
            stage, days = found
            uow.due_notices.add(
                DueNotice.of(
                    cmd.tenant_id,
                    row.id,
                    client_id=row.client_id,
                    number=row.number,
                    currency=row.currency,
                    balance_minor=row.total_minor - row.paid_minor,
                    due_date=row.due_date,
                    stage=stage,
                    days=days,
                    now=cmd.now,
                )
            )
            told += 1
        await uow.commit()
    return told
