"""Use cases: each runs in one unit of work, so its rows and its events commit together or not at all."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

from membership_billing_svc.adapters.business_calendar import AbstractBusinessCalendar
from membership_billing_svc.adapters.client_directory import AbstractClientDirectory, BillTo
from membership_billing_svc.domain import commands
from membership_billing_svc.domain.invoices import DraftTerms, Invoice
from membership_billing_svc.domain.payment_due import DueNotice, due_stage
from membership_billing_svc.domain.payments import OPENING_BALANCE_METHOD, Payment, PaymentInput
from membership_billing_svc.service_layer.loyalty_handlers import earn_points, take_back_points
from membership_billing_svc.service_layer.unit_of_work import DUPLICATE_REQUEST, BillingUnitOfWork
from platform_core.errors import Conflict, InvalidArgument, NotFound
from platform_core.ids import new_id
from platform_core.validation import Violations


async def _client(directory: AbstractClientDirectory, client_id: uuid.UUID) -> BillTo:
    found = await directory.bill_to(client_id)
    if found is None:
        raise InvalidArgument.single("client_id", "is not a client of this business")
    return found


async def create_invoice(
    uow: BillingUnitOfWork,
    directory: AbstractClientDirectory,
    tenant_id: uuid.UUID,
    client_id: uuid.UUID,
    terms: DraftTerms,
    now: datetime,
) -> Invoice:
    client = await _client(directory, client_id)
    async with uow:
        # A merged-away client's invoices are its survivor's.
        invoice = Invoice.draft(tenant_id, new_id(), client.client_id, terms, now)
        uow.invoices.add(invoice)
        await uow.commit()
    return invoice


async def update_draft(
    uow: BillingUnitOfWork, tenant_id: uuid.UUID, invoice_id: uuid.UUID, terms: DraftTerms, version: int, now: datetime
) -> Invoice:
    async with uow:
        invoice = await uow.invoices.get(tenant_id, invoice_id)
        invoice.update_draft(terms, version=version, now=now)
        await uow.commit()
    return invoice


async def issue_invoice(
    uow: BillingUnitOfWork,
    directory: AbstractClientDirectory,
    tenant_id: uuid.UUID,
    invoice_id: uuid.UUID,
    client_id: uuid.UUID,
    issue_date: date,
    now: datetime,
) -> Invoice:
    """``client_id``: the invoice's client as read before; its name is asked for outside the transaction, so
    no row stays locked across a call to another service."""
    client = await _client(directory, client_id)
    async with uow:
        invoice = await uow.invoices.get(tenant_id, invoice_id)
        invoice.check_issuable()
        if invoice.client_id != client_id:
            raise Conflict("the invoice's client changed (a merge) while it was issued; try again", reason="RETRY")
        # The number last: the counter row is locked from here to the commit.
        number = await uow.invoices.next_number(tenant_id)
        invoice.issue(number=number, issue_date=issue_date, bill_to_name=client.name, now=now)
        await apply_client_credit(uow, invoice, now)
        await uow.commit()
    return invoice


async def apply_client_credit(uow: BillingUnitOfWork, invoice: Invoice, now: datetime) -> None:
    """The client's credit in the invoice's currency (what its payments left unallocated, oldest first) pays
    the newly issued invoice as far as it goes."""
    for payment in await uow.payments.with_credit(invoice.tenant_id, invoice.client_id, invoice.currency):
        if not invoice.is_open:
            return
        payment.apply_credit(invoice, now)


async def void_invoice(
    uow: BillingUnitOfWork, tenant_id: uuid.UUID, invoice_id: uuid.UUID, reason: str, now: datetime
) -> Invoice:
    async with uow:
        invoice = await uow.invoices.get(tenant_id, invoice_id)
        invoice.void(reason, now)
        await uow.commit()
    return invoice


async def record_payment(
    uow: BillingUnitOfWork,
    directory: AbstractClientDirectory,
    tenant_id: uuid.UUID,
    client_id: uuid.UUID,
    given: PaymentInput,
    *,
    invoice_id: uuid.UUID | None,
    request_id: str | None,
    zone: ZoneInfo,
    now: datetime,
) -> Payment:
    """A retry with the same request id returns the first payment (and records nothing). The points the
    business's loyalty program gives for it are earned in the same transaction."""
    if request_id:
        async with uow:
            existing = await uow.payments.get_by_request_id(tenant_id, request_id)
        if existing is not None:
            return _replayed(existing, given)
    client = await _client(directory, client_id)
    try:
        async with uow:
            payment = Payment.received(tenant_id, new_id(), client.client_id, given, now=now, request_id=request_id)
            if invoice_id is not None:
                try:
                    target: Invoice | None = await uow.invoices.get(tenant_id, invoice_id)
                except NotFound:
                    raise InvalidArgument.single("invoice_id", "is not an invoice of this business") from None
                payment.allocate([], target=target, now=now)
            else:
                open_invoices = await uow.invoices.open_for_client(tenant_id, client.client_id, payment.currency)
                payment.allocate(open_invoices, target=None, now=now)
            uow.payments.add(payment)
            await earn_points(
                uow,
                tenant_id,
                client.client_id,
                source="payment",
                source_id=payment.id,
                points_of=lambda program: program.points_for_payment(payment.amount_minor, payment.currency),
                zone=zone,
                now=now,
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


async def refund_payment(
    uow: BillingUnitOfWork, tenant_id: uuid.UUID, payment_id: uuid.UUID, reason: str, now: datetime
) -> Payment:
    async with uow:
        payment = await uow.payments.get(tenant_id, payment_id)
        invoices = await uow.invoices.get_many(tenant_id, [a.invoice_id for a in payment.allocations])
        payment.refund(reason, {i.id: i for i in invoices}, now)
        await take_back_points(uow, tenant_id, payment.id, now)
        await uow.commit()
    return payment


async def open_client_account(
    uow: BillingUnitOfWork,
    tenant_id: uuid.UUID,
    client_id: uuid.UUID,
    *,
    amount_minor: int,
    currency: str,
    source_event_id: uuid.UUID,
    now: datetime,
) -> None:
    """A new client's opening balance: owed (positive) becomes an open receivable, held (negative) becomes
    credit. Runs in the consumer's transaction, once per event."""
    if amount_minor == 0:
        return
    violations = Violations()
    code = violations.currency(currency, "opening_balance.currency")
    violations.raise_if_any()
    async with uow:
        if amount_minor > 0:
            uow.invoices.add(
                Invoice.opening_balance(
                    tenant_id,
                    new_id(),
                    client_id,
                    amount_minor=amount_minor,
                    currency=code,
                    today=now.date(),
                    now=now,
                    source_event_id=source_event_id,
                )
            )
        else:
            credit = Payment.received(
                tenant_id,
                new_id(),
                client_id,
                PaymentInput(-amount_minor, code, OPENING_BALANCE_METHOD, received_at=now, reference="opening balance"),
                now=now,
                source_event_id=source_event_id,
                internal_method=True,
            )
            credit.allocate([], target=None, now=now)
            uow.payments.add(credit)
        await uow.commit()


async def notify_payments_due(
    cmd: commands.NotifyPaymentsDue, uow: BillingUnitOfWork, calendar: AbstractBusinessCalendar
) -> int:
    """PaymentDue once per invoice and stage, judged on the business's calendar; returns how many were told."""
    zone = await calendar.timezone()
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
