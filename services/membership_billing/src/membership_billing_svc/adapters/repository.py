"""Invoices and payments in PostgreSQL (Core statements; the domain classes know nothing of it).

Everything a use case changes is read with FOR UPDATE, so concurrent payments, refunds and issues of the
same invoices queue instead of overwriting each other; rows are locked in id order to avoid deadlocks.
"""

from __future__ import annotations

import abc
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from membership_billing_svc.adapters.tables import invoice_lines, invoices, payment_allocations, payments
from membership_billing_svc.domain.invoices import OPEN_STATUSES, Invoice, InvoiceKind, InvoiceLine, InvoiceStatus
from membership_billing_svc.domain.payments import Allocation, Payment, PaymentStatus
from platform_core.errors import NotFound

Executor = AsyncSession | AsyncConnection


def constraint_of(exc: IntegrityError) -> str:
    cause = getattr(exc.orig, "__cause__", None)
    return str(getattr(cause, "constraint_name", "") or "")


# --- rows -> domain ----------------------------------------------------------------------------------


def invoice_from_rows(row: Any, line_rows: Sequence[Any]) -> Invoice:
    return Invoice(
        tenant_id=row.tenant_id,
        id=row.id,
        client_id=row.client_id,
        kind=InvoiceKind(row.kind),
        status=InvoiceStatus(row.status),
        currency=row.currency,
        lines=tuple(
            InvoiceLine(
                description=r.description,
                quantity=r.quantity,
                unit_price_minor=r.unit_price_minor,
                tax_rate_bp=r.tax_rate_bp,
                appointment_id=r.appointment_id,
            )
            for r in sorted(line_rows, key=lambda r: r.position)
        ),
        subtotal_minor=row.subtotal_minor,
        tax_minor=row.tax_minor,
        total_minor=row.total_minor,
        payment_terms_days=row.payment_terms_days,
        notes=row.notes,
        created_at=row.created_at,
        updated_at=row.updated_at,
        number=row.number,
        issue_date=row.issue_date,
        due_date=row.due_date,
        bill_to_name=row.bill_to_name,
        paid_minor=row.paid_minor,
        void_reason=row.void_reason,
        source_event_id=row.source_event_id,
        version=row.version,
    )


async def invoices_with_lines(db: Executor, rows: Sequence[Any]) -> list[Invoice]:
    """The invoices of ``rows`` with all their lines, in one more query whatever their number."""
    if not rows:
        return []
    line_rows = (
        await db.execute(
            select(invoice_lines).where(
                invoice_lines.c.tenant_id == rows[0].tenant_id,
                invoice_lines.c.invoice_id.in_([r.id for r in rows]),
            )
        )
    ).all()
    by_invoice: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for line in line_rows:
        by_invoice[line.invoice_id].append(line)
    return [invoice_from_rows(r, by_invoice[r.id]) for r in rows]


def payment_from_rows(row: Any, allocation_rows: Sequence[Any]) -> Payment:
    return Payment(
        tenant_id=row.tenant_id,
        id=row.id,
        client_id=row.client_id,
        amount_minor=row.amount_minor,
        currency=row.currency,
        method=row.method,
        received_at=row.received_at,
        reference=row.reference,
        notes=row.notes,
        created_at=row.created_at,
        status=PaymentStatus(row.status),
        allocations=[Allocation(a.invoice_id, a.number, a.amount_minor) for a in allocation_rows],
        request_id=row.request_id,
        source_event_id=row.source_event_id,
        refund_reason=row.refund_reason,
        refunded_at=row.refunded_at,
    )


async def payments_with_allocations(db: Executor, rows: Sequence[Any]) -> list[Payment]:
    if not rows:
        return []
    allocation_rows = (
        await db.execute(
            select(payment_allocations, invoices.c.number)
            .join(
                invoices,
                (invoices.c.tenant_id == payment_allocations.c.tenant_id)
                & (invoices.c.id == payment_allocations.c.invoice_id),
            )
            .where(
                payment_allocations.c.tenant_id == rows[0].tenant_id,
                payment_allocations.c.payment_id.in_([r.id for r in rows]),
            )
            .order_by(invoices.c.due_date, invoices.c.number)
        )
    ).all()
    by_payment: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for allocation in allocation_rows:
        by_payment[allocation.payment_id].append(allocation)
    return [payment_from_rows(r, by_payment[r.id]) for r in rows]


# --- invoices -----------------------------------------------------------------------------------------


class AbstractInvoiceRepository(abc.ABC):
    """Invoices a unit reads are locked for the rest of it and saved when it commits."""

    def __init__(self) -> None:
        self.seen: set[Invoice] = set()

    def add(self, invoice: Invoice) -> None:
        self.seen.add(invoice)

    async def get(self, tenant_id: uuid.UUID, invoice_id: uuid.UUID) -> Invoice:
        found = await self.get_many(tenant_id, [invoice_id])
        if not found:
            raise NotFound("invoice not found")
        return found[0]

    @abc.abstractmethod
    async def get_many(self, tenant_id: uuid.UUID, invoice_ids: Sequence[uuid.UUID]) -> list[Invoice]: ...

    @abc.abstractmethod
    async def open_for_client(self, tenant_id: uuid.UUID, client_id: uuid.UUID, currency: str) -> list[Invoice]:
        """The client's open invoices of ``currency``."""

    @abc.abstractmethod
    async def next_number(self, tenant_id: uuid.UUID) -> int:
        """The tenant's next invoice number, gapless."""

    @abc.abstractmethod
    async def save(self, invoice: Invoice) -> None: ...


class SqlAlchemyInvoiceRepository(AbstractInvoiceRepository):
    def __init__(self, session: AsyncSession) -> None:
        super().__init__()
        self._session = session
        # Status as read, so a save knows whether the row still lets its lines change (drafts only).
        self._read_status: dict[uuid.UUID, InvoiceStatus] = {}

    def _track(self, found: list[Invoice]) -> list[Invoice]:
        for invoice in found:
            self.seen.add(invoice)
            self._read_status[invoice.id] = invoice.status
        return found

    async def get_many(self, tenant_id: uuid.UUID, invoice_ids: Sequence[uuid.UUID]) -> list[Invoice]:
        """Locked for the rest of the transaction."""
        rows = (
            await self._session.execute(
                select(invoices)
                .where(invoices.c.tenant_id == tenant_id, invoices.c.id.in_(list(invoice_ids)))
                .order_by(invoices.c.id)
                .with_for_update()
            )
        ).all()
        return self._track(await invoices_with_lines(self._session, rows))

    async def open_for_client(self, tenant_id: uuid.UUID, client_id: uuid.UUID, currency: str) -> list[Invoice]:
        """The client's open invoices of ``currency``, locked."""
        rows = (
            await self._session.execute(
                select(invoices)
                .where(
                    invoices.c.tenant_id == tenant_id,
                    invoices.c.client_id == client_id,
                    invoices.c.currency == currency,
                    invoices.c.status.in_([s.value for s in OPEN_STATUSES]),
                )
                .order_by(invoices.c.id)
                .with_for_update()
            )
        ).all()
        return self._track(await invoices_with_lines(self._session, rows))

    async def next_number(self, tenant_id: uuid.UUID) -> int:
        """The tenant's next invoice number. The counter row stays locked until the transaction ends, so
        concurrent issues take numbers one after another, and a rolled-back issue takes its number back."""
        number = await self._session.scalar(
            text(
                "INSERT INTO invoice_counters (tenant_id, last_number) VALUES (:t, 1)"
                " ON CONFLICT (tenant_id) DO UPDATE SET last_number = invoice_counters.last_number + 1"
                " RETURNING last_number"
            ),
            {"t": tenant_id},
        )
        return int(number)

    async def save(self, invoice: Invoice) -> None:
        values = {
            "client_id": invoice.client_id,
            "status": invoice.status.value,
            "number": invoice.number,
            "currency": invoice.currency,
            "subtotal_minor": invoice.subtotal_minor,
            "tax_minor": invoice.tax_minor,
            "total_minor": invoice.total_minor,
            "paid_minor": invoice.paid_minor,
            "payment_terms_days": invoice.payment_terms_days,
            "issue_date": invoice.issue_date,
            "due_date": invoice.due_date,
            "bill_to_name": invoice.bill_to_name,
            "notes": invoice.notes,
            "void_reason": invoice.void_reason,
            "updated_at": invoice.updated_at,
        }
        # Lines are written only while the row says draft, and a draft becomes issued before anything is paid
        # on it: an invoice issued in the transaction that made it (a package sale), or paid at once by the
        # client's credit, steps through those states as any invoice does, under the schema's checks.
        was_draft = invoice.is_new or self._read_status.get(invoice.id) is InvoiceStatus.DRAFT
        if invoice.is_new:
            as_inserted = values | (
                {"status": "draft", "number": None, "issue_date": None, "due_date": None, "bill_to_name": ""}
                | {"paid_minor": 0}
                if invoice.status is not InvoiceStatus.DRAFT and invoice.lines
                else {}
            )
            await self._session.execute(
                insert(invoices).values(
                    tenant_id=invoice.tenant_id,
                    id=invoice.id,
                    kind=invoice.kind.value,
                    source_event_id=invoice.source_event_id,
                    version=invoice.version,
                    created_at=invoice.created_at,
                    **as_inserted,
                )
            )
            await self._write_lines(invoice)
            invoice.is_new = False
            if as_inserted == values:
                self._read_status[invoice.id] = invoice.status
                return
        elif was_draft:
            await self._session.execute(
                delete(invoice_lines).where(
                    invoice_lines.c.tenant_id == invoice.tenant_id, invoice_lines.c.invoice_id == invoice.id
                )
            )
            await self._write_lines(invoice)
        where = (invoices.c.tenant_id == invoice.tenant_id) & (invoices.c.id == invoice.id)
        if was_draft and invoice.status in (InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.PAID):
            await self._session.execute(
                update(invoices).where(where).values(values | {"status": "issued", "paid_minor": 0})
            )
        await self._session.execute(update(invoices).where(where).values(version=invoices.c.version + 1, **values))
        invoice.version += 1
        self._read_status[invoice.id] = invoice.status

    async def _write_lines(self, invoice: Invoice) -> None:
        if not invoice.lines:
            return
        await self._session.execute(
            insert(invoice_lines),
            [
                {
                    "tenant_id": invoice.tenant_id,
                    "invoice_id": invoice.id,
                    "position": position,
                    "description": line.description,
                    "quantity": line.quantity,
                    "unit_price_minor": line.unit_price_minor,
                    "tax_rate_bp": line.tax_rate_bp,
                    "appointment_id": line.appointment_id,
                    "net_minor": line.net_minor,
                    "tax_minor": line.tax_minor,
                    "total_minor": line.total_minor,
                }
                for position, line in enumerate(invoice.lines)
            ],
        )


# --- payments -----------------------------------------------------------------------------------------


class AbstractPaymentRepository(abc.ABC):
    """Payments a unit reads are locked for the rest of it and saved when it commits."""

    def __init__(self) -> None:
        self.seen: set[Payment] = set()

    def add(self, payment: Payment) -> None:
        self.seen.add(payment)

    @abc.abstractmethod
    async def get(self, tenant_id: uuid.UUID, payment_id: uuid.UUID) -> Payment: ...

    @abc.abstractmethod
    async def with_credit(self, tenant_id: uuid.UUID, client_id: uuid.UUID, currency: str) -> list[Payment]:
        """The client's recorded payments of ``currency`` with something left unallocated, oldest first."""

    @abc.abstractmethod
    async def get_by_request_id(self, tenant_id: uuid.UUID, request_id: str) -> Payment | None: ...

    @abc.abstractmethod
    async def save(self, payment: Payment) -> None: ...


class SqlAlchemyPaymentRepository(AbstractPaymentRepository):
    def __init__(self, session: AsyncSession) -> None:
        super().__init__()
        self._session = session

    async def get(self, tenant_id: uuid.UUID, payment_id: uuid.UUID) -> Payment:
        rows = (
            await self._session.execute(
                select(payments).where(payments.c.tenant_id == tenant_id, payments.c.id == payment_id).with_for_update()
            )
        ).all()
        if not rows:
            raise NotFound("payment not found")
        (payment,) = await payments_with_allocations(self._session, rows)
        self.seen.add(payment)
        return payment

    async def with_credit(self, tenant_id: uuid.UUID, client_id: uuid.UUID, currency: str) -> list[Payment]:
        """The client's recorded payments of ``currency`` with something left unallocated, oldest first,
        locked."""
        allocated = (
            select(func.coalesce(func.sum(payment_allocations.c.amount_minor), 0))
            .where(
                payment_allocations.c.tenant_id == payments.c.tenant_id,
                payment_allocations.c.payment_id == payments.c.id,
            )
            .scalar_subquery()
        )
        rows = (
            await self._session.execute(
                select(payments)
                .where(
                    payments.c.tenant_id == tenant_id,
                    payments.c.client_id == client_id,
                    payments.c.currency == currency,
                    payments.c.status == PaymentStatus.RECORDED.value,
                    payments.c.amount_minor > allocated,
                )
                .order_by(payments.c.id)
                .with_for_update()
            )
        ).all()
        found = await payments_with_allocations(self._session, rows)
        self.seen.update(found)
        return found

    async def get_by_request_id(self, tenant_id: uuid.UUID, request_id: str) -> Payment | None:
        rows = (
            await self._session.execute(
                select(payments).where(payments.c.tenant_id == tenant_id, payments.c.request_id == request_id)
            )
        ).all()
        found = await payments_with_allocations(self._session, rows)
        return found[0] if found else None

    async def save(self, payment: Payment) -> None:
        if payment.is_new:
            await self._session.execute(
                insert(payments).values(
                    tenant_id=payment.tenant_id,
                    id=payment.id,
                    client_id=payment.client_id,
                    amount_minor=payment.amount_minor,
                    currency=payment.currency,
                    method=payment.method,
                    received_at=payment.received_at,
                    reference=payment.reference,
                    notes=payment.notes,
                    status=payment.status.value,
                    refund_reason=payment.refund_reason,
                    refunded_at=payment.refunded_at,
                    request_id=payment.request_id,
                    source_event_id=payment.source_event_id,
                    created_at=payment.created_at,
                )
            )
            if payment.allocations:
                await self._session.execute(
                    insert(payment_allocations),
                    [
                        {
                            "tenant_id": payment.tenant_id,
                            "payment_id": payment.id,
                            "invoice_id": a.invoice_id,
                            "amount_minor": a.amount_minor,
                        }
                        for a in payment.allocations
                    ],
                )
            payment.is_new = False
            return
        await self._session.execute(
            update(payments)
            .where(payments.c.tenant_id == payment.tenant_id, payments.c.id == payment.id)
            .values(status=payment.status.value, refund_reason=payment.refund_reason, refunded_at=payment.refunded_at)
        )
        if payment.unsaved_allocations:
            await self._session.execute(
                insert(payment_allocations),
                [
                    {
                        "tenant_id": payment.tenant_id,
                        "payment_id": payment.id,
                        "invoice_id": a.invoice_id,
                        "amount_minor": a.amount_minor,
                    }
                    for a in payment.unsaved_allocations
                ],
            )
            payment.unsaved_allocations.clear()
