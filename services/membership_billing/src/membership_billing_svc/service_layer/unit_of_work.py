"""The billing unit of work: invoices and payments are written when it commits, with their events."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from membership_billing_svc.adapters import event_mapping
from membership_billing_svc.adapters.repository import InvoiceRepository, PaymentRepository, constraint_of
from platform_core.errors import Conflict
from platform_core.unit_of_work import SqlAlchemyUnitOfWork

DUPLICATE_REQUEST = "DUPLICATE_REQUEST"


class BillingUnitOfWork(SqlAlchemyUnitOfWork):
    invoices: InvoiceRepository
    payments: PaymentRepository

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession] | None,
        *,
        nats_prefix: str,
        borrowed: AsyncSession | None = None,
    ) -> None:
        super().__init__(sessions, nats_prefix=nats_prefix, to_envelope=event_mapping.to_envelope, borrowed=borrowed)

    def _attach(self, session: AsyncSession) -> None:
        self.invoices = InvoiceRepository(session)
        self.payments = PaymentRepository(session)
        self.repositories = (self.invoices, self.payments)

    async def commit(self) -> None:
        try:
            # Invoices first: a new payment's allocations refer to them.
            for invoice in sorted(self.invoices.seen, key=lambda i: i.id):
                await self.invoices.save(invoice)
            for payment in list(self.payments.seen):
                await self.payments.save(payment)
            await super().commit()
        except IntegrityError as exc:
            if constraint_of(exc) == "payments_request_id":
                raise Conflict("a payment was already recorded with this request id", reason=DUPLICATE_REQUEST) from exc
            raise
