"""Read side: invoices, payments and balances, read in autocommit. A page is two queries whatever its size
(the rows, then all their lines or allocations); a balance is two (open invoices, credit by currency)."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Collection
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from membership_billing_svc.adapters.repository import invoices_with_lines, payments_with_allocations
from membership_billing_svc.adapters.tables import invoices, payment_allocations, payments
from membership_billing_svc.domain.balance import CurrencyBalance, OpenInvoice, summarize
from membership_billing_svc.domain.invoices import OPEN_STATUSES, Invoice
from membership_billing_svc.domain.payments import Payment, PaymentStatus
from platform_core.errors import InvalidArgument, NotFound

DEFAULT_PAGE = 50
MAX_PAGE = 200
OPEN = [s.value for s in OPEN_STATUSES]


def page_size_of(requested: int) -> int:
    if requested < 0:
        raise InvalidArgument.single("page.page_size", "must not be negative")
    return min(requested or DEFAULT_PAGE, MAX_PAGE)


def encode_token(last_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(last_id.bytes).decode().rstrip("=")


def decode_token(token: str) -> uuid.UUID | None:
    if not token:
        return None
    try:
        return uuid.UUID(bytes=base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError):
        raise InvalidArgument.single("page.page_token", "is not a token this service gave out") from None


async def get_invoice(engine: AsyncEngine, tenant_id: uuid.UUID, invoice_id: uuid.UUID) -> Invoice:
    async with engine.connect() as conn:
        rows = (
            await conn.execute(select(invoices).where(invoices.c.tenant_id == tenant_id, invoices.c.id == invoice_id))
        ).all()
        found = await invoices_with_lines(conn, rows)
    if not found:
        raise NotFound("invoice not found")
    return found[0]


async def list_invoices(
    engine: AsyncEngine,
    tenant_id: uuid.UUID,
    *,
    client_id: uuid.UUID | None,
    statuses: Collection[str],
    overdue_on: date | None,
    page_size: int,
    page_token: str,
) -> tuple[list[Invoice], str]:
    """Newest first. ``overdue_on``: only open invoices due before that day."""
    query = select(invoices).where(invoices.c.tenant_id == tenant_id)
    if client_id is not None:
        query = query.where(invoices.c.client_id == client_id)
    if statuses:
        query = query.where(invoices.c.status.in_(list(statuses)))
    if overdue_on is not None:
        query = query.where(invoices.c.status.in_(OPEN), invoices.c.due_date < overdue_on)
    after = decode_token(page_token)
    if after is not None:
        query = query.where(invoices.c.id < after)
    async with engine.connect() as conn:
        rows = (await conn.execute(query.order_by(invoices.c.id.desc()).limit(page_size + 1))).all()
        found = await invoices_with_lines(conn, rows[:page_size])
    return found, encode_token(found[-1].id) if len(rows) > page_size else ""


async def list_payments(
    engine: AsyncEngine, tenant_id: uuid.UUID, *, client_id: uuid.UUID | None, page_size: int, page_token: str
) -> tuple[list[Payment], str]:
    query = select(payments).where(payments.c.tenant_id == tenant_id)
    if client_id is not None:
        query = query.where(payments.c.client_id == client_id)
    after = decode_token(page_token)
    if after is not None:
        query = query.where(payments.c.id < after)
    async with engine.connect() as conn:
        rows = (await conn.execute(query.order_by(payments.c.id.desc()).limit(page_size + 1))).all()
        found = await payments_with_allocations(conn, rows[:page_size])
    return found, encode_token(found[-1].id) if len(rows) > page_size else ""


async def client_balance(
    engine: AsyncEngine, tenant_id: uuid.UUID, client_id: uuid.UUID, today: date
) -> list[CurrencyBalance]:
    allocated = (
        select(payment_allocations.c.payment_id, func.sum(payment_allocations.c.amount_minor).label("allocated_minor"))
        .where(payment_allocations.c.tenant_id == tenant_id)
        .group_by(payment_allocations.c.payment_id)
        .subquery()
    )
    async with engine.connect() as conn:
        open_rows = (
            await conn.execute(
                select(
                    invoices.c.id,
                    invoices.c.number,
                    invoices.c.currency,
                    (invoices.c.total_minor - invoices.c.paid_minor).label("outstanding_minor"),
                    invoices.c.issue_date,
                    invoices.c.due_date,
                ).where(
                    invoices.c.tenant_id == tenant_id,
                    invoices.c.client_id == client_id,
                    invoices.c.status.in_(OPEN),
                )
            )
        ).all()
        credit_rows = (
            await conn.execute(
                select(
                    payments.c.currency,
                    func.sum(payments.c.amount_minor - func.coalesce(allocated.c.allocated_minor, 0)).label("credit"),
                )
                .select_from(payments.outerjoin(allocated, allocated.c.payment_id == payments.c.id))
                .where(
                    payments.c.tenant_id == tenant_id,
                    payments.c.client_id == client_id,
                    payments.c.status == PaymentStatus.RECORDED.value,
                )
                .group_by(payments.c.currency)
            )
        ).all()
    open_invoices = [
        OpenInvoice(r.id, r.number, r.currency, r.outstanding_minor, r.issue_date, r.due_date) for r in open_rows
    ]
    return summarize(open_invoices, {r.currency: int(r.credit) for r in credit_rows}, today)
