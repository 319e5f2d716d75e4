"""Read side of a client's statement: its issued invoices and its payments (with their refunds) up to the
statement's last day, as facts for ``domain.statement`` (two queries, in autocommit)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from membership_billing_svc.adapters.tables import invoices, payments
from membership_billing_svc.domain.invoices import InvoiceKind, InvoiceStatus
from membership_billing_svc.domain.ledger import business_midnight
from membership_billing_svc.domain.statement import CurrencyStatement, InvoiceFact, PaymentFact, build_statement


async def client_statement(
    engine: AsyncEngine, tenant_id: uuid.UUID, client_id: uuid.UUID, first: date, last: date, zone: ZoneInfo
) -> list[CurrencyStatement]:
    end = business_midnight(last + timedelta(days=1), zone)
    async with engine.connect() as conn:
        invoice_rows = (
            await conn.execute(
                select(invoices).where(
                    invoices.c.tenant_id == tenant_id,
                    invoices.c.client_id == client_id,
                    invoices.c.status.not_in([InvoiceStatus.DRAFT.value, InvoiceStatus.VOID.value]),
                    invoices.c.issue_date <= last,
                )
            )
        ).all()
        payment_rows = (
            await conn.execute(
                select(payments).where(
                    payments.c.tenant_id == tenant_id,
                    payments.c.client_id == client_id,
                    payments.c.received_at < end,
                )
            )
        ).all()
    return build_statement(
        [
            InvoiceFact(
                r.id, r.number, r.kind == InvoiceKind.OPENING_BALANCE.value, r.issue_date, r.currency, r.total_minor
            )
            for r in invoice_rows
        ],
        [
            PaymentFact(
                r.id,
                r.received_at.astimezone(zone).date(),
                r.currency,
                r.amount_minor,
                r.method,
                r.reference,
                r.refunded_at.astimezone(zone).date() if r.refunded_at is not None else None,
            )
            for r in payment_rows
        ],
        first,
        last,
    )
