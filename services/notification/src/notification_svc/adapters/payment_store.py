"""The business's payment reminder rule, and the invoices' facts reminders are planned from (kept from
billing's events: issued open, paid, voided, reopened by a refund)."""

from __future__ import annotations

import abc
import uuid
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from notification_svc.domain.payment_notices import InvoiceFacts, PaymentRule


class AbstractPaymentStore(abc.ABC):
    @abc.abstractmethod
    async def rule(self, tenant_id: uuid.UUID) -> PaymentRule | None: ...

    @abc.abstractmethod
    async def set_rule(self, tenant_id: uuid.UUID, rule: PaymentRule, now: datetime) -> None: ...

    @abc.abstractmethod
    async def delete_rule(self, tenant_id: uuid.UUID) -> bool: ...

    @abc.abstractmethod
    async def keep_invoice(self, tenant_id: uuid.UUID, invoice: InvoiceFacts, now: datetime) -> None: ...

    @abc.abstractmethod
    async def settle_invoice(self, tenant_id: uuid.UUID, invoice_id: uuid.UUID, state: str, now: datetime) -> None:
        """Paid (while open) or voided (for good)."""

    @abc.abstractmethod
    async def reopen(self, tenant_id: uuid.UUID, invoice_id: uuid.UUID, now: datetime) -> InvoiceFacts | None:
        """A paid invoice open again (a refund took its payment back); None when it was not paid."""


class SqlAlchemyPaymentStore(AbstractPaymentStore):
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def rule(self, tenant_id: uuid.UUID) -> PaymentRule | None:
        row = (
            await self.session.execute(
                text("SELECT days, channels, send_at FROM payment_reminder_rules WHERE tenant_id = :t"),
                {"t": tenant_id},
            )
        ).first()
        return PaymentRule(tuple(row.days), tuple(row.channels), row.send_at) if row else None

    async def set_rule(self, tenant_id: uuid.UUID, rule: PaymentRule, now: datetime) -> None:
        await self.session.execute(
            text(
                "INSERT INTO payment_reminder_rules (tenant_id, days, channels, send_at, updated_at) "
                "VALUES (:t, :days, :channels, :send_at, :now) ON CONFLICT (tenant_id) DO UPDATE SET "
                "days = excluded.days, channels = excluded.channels, send_at = excluded.send_at, "
                "updated_at = excluded.updated_at"
            ),
            {
                "t": tenant_id,
                "days": list(rule.days),
                "channels": list(rule.channels),
                "send_at": rule.send_at,
                "now": now,
            },
        )

    async def delete_rule(self, tenant_id: uuid.UUID) -> bool:
        deleted = await self.session.execute(
            text("DELETE FROM payment_reminder_rules WHERE tenant_id = :t"), {"t": tenant_id}
        )
        return bool(deleted.rowcount)  # type: ignore[attr-defined]

    async def keep_invoice(self, tenant_id: uuid.UUID, invoice: InvoiceFacts, now: datetime) -> None:
        await self.session.execute(
            text(
                "INSERT INTO invoice_facts (tenant_id, invoice_id, client_id, number, currency, total_minor, due_date, "
                "state, updated_at) VALUES (:t, :id, :client, :number, :currency, :total, :due, 'open', :now) "
                "ON CONFLICT (tenant_id, invoice_id) DO NOTHING"
            ),
            {
                "t": tenant_id,
                "id": invoice.invoice_id,
                "client": invoice.client_id,
                "number": invoice.number,
                "currency": invoice.currency,
                "total": invoice.total_minor,
                "due": invoice.due_date,
                "now": now,
            },
        )

    async def settle_invoice(self, tenant_id: uuid.UUID, invoice_id: uuid.UUID, state: str, now: datetime) -> None:
        await self.session.execute(
            text(
                "UPDATE invoice_facts SET state = :state, updated_at = :now "
                "WHERE tenant_id = :t AND invoice_id = :id AND state <> 'voided'"
            ),
            {"t": tenant_id, "id": invoice_id, "state": state, "now": now},
        )

    async def reopen(self, tenant_id: uuid.UUID, invoice_id: uuid.UUID, now: datetime) -> InvoiceFacts | None:
        row = (
            await self.session.execute(
                text(
                    "UPDATE invoice_facts SET state = 'open', updated_at = :now "
                    "WHERE tenant_id = :t AND invoice_id = :id AND state = 'paid' "
                    "RETURNING invoice_id, client_id, number, currency, total_minor, due_date"
                ),
                {"t": tenant_id, "id": invoice_id, "now": now},
            )
        ).first()
        if row is None:
            return None
        return InvoiceFacts(row.invoice_id, row.client_id, row.number, row.currency, row.total_minor, row.due_date)
