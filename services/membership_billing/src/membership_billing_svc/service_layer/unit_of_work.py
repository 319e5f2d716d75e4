"""The billing unit of work: invoices, payments and ledger transactions are written when it commits, with
their events. It also carries the ports to other services (the client directory, the business's calendar),
given by bootstrap, so a use case reaches everything through it; handlers ask them before entering the unit
where a row would otherwise stay locked across the call. A unit may be entered more than once: each
``async with`` is a fresh transaction."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from membership_billing_svc.adapters import event_mapping
from membership_billing_svc.adapters.business_calendar import AbstractBusinessCalendar
from membership_billing_svc.adapters.client_directory import AbstractClientDirectory
from membership_billing_svc.adapters.due_notice_repository import (
    AbstractDueNoticeRepository,
    SqlAlchemyDueNoticeRepository,
)
from membership_billing_svc.adapters.ledger_repository import AbstractLedgerRepository, SqlAlchemyLedgerRepository
from membership_billing_svc.adapters.membership_repository import (
    AbstractMembershipRepository,
    SqlAlchemyMembershipRepository,
)
from membership_billing_svc.adapters.package_repository import AbstractPackageRepository, SqlAlchemyPackageRepository
from membership_billing_svc.adapters.policy_repository import AbstractPolicyRepository, SqlAlchemyPolicyRepository
from membership_billing_svc.adapters.repository import (
    AbstractInvoiceRepository,
    AbstractPaymentRepository,
    SqlAlchemyInvoiceRepository,
    SqlAlchemyPaymentRepository,
    constraint_of,
)
from membership_billing_svc.domain.ledger import INSUFFICIENT_CREDITS
from platform_core.errors import Conflict, DomainError, FailedPrecondition
from platform_core.unit_of_work import AbstractUnitOfWork, SqlAlchemyUnitOfWork

DUPLICATE_REQUEST = "DUPLICATE_REQUEST"

# What the schema refuses that a caller can cause, as the error the caller gets.
REFUSALS: dict[str, Callable[[], DomainError]] = {
    "payments_request_id": lambda: Conflict(
        "a payment was already recorded with this request id", reason=DUPLICATE_REQUEST
    ),
    "ledger_transactions_request_id": lambda: Conflict(
        "a ledger transaction was already recorded with this request id", reason=DUPLICATE_REQUEST
    ),
    "ledger_entries_lot_overdrawn": lambda: FailedPrecondition(
        "the client no longer holds enough credits (another use took them)", reason=INSUFFICIENT_CREDITS
    ),
    "ledger_transactions_reversed_once": lambda: Conflict("the use was already reversed", reason="ALREADY_REVERSED"),
    "credit_types_name": lambda: Conflict("a credit type of this name exists", reason="CREDIT_TYPE_EXISTS"),
    "check_ins_appointment": lambda: Conflict("the appointment was checked in already", reason="ALREADY_CHECKED_IN"),
    "packages_name": lambda: Conflict("a package of this name exists", reason="PACKAGE_EXISTS"),
    "package_sales_request_id": lambda: Conflict(
        "a package sale was already recorded with this request id", reason=DUPLICATE_REQUEST
    ),
    "cancellation_policies_business": lambda: Conflict(
        "the cancellation policy was changed at the same time; try again", reason="CONCURRENT_CHANGE"
    ),
    "cancellation_policies_service": lambda: Conflict(
        "the cancellation policy was changed at the same time; try again", reason="CONCURRENT_CHANGE"
    ),
    "memberships_name": lambda: Conflict("a membership of this name exists", reason="MEMBERSHIP_EXISTS"),
    "subscriptions_request_id": lambda: Conflict(
        "a subscription was already registered with this request id", reason=DUPLICATE_REQUEST
    ),
    "subscription_periods_request_id": lambda: Conflict(
        "a renewal was already made with this request id", reason=DUPLICATE_REQUEST
    ),
    "subscription_periods_pkey": lambda: Conflict(
        "the subscription was renewed at the same time; read it again", reason="RETRY"
    ),
    "ledger_entries_frozen": lambda: FailedPrecondition(
        "the membership these credits belong to is frozen", reason="MEMBERSHIP_FROZEN"
    ),
}


class BillingUnitOfWork(AbstractUnitOfWork):
    invoices: AbstractInvoiceRepository
    payments: AbstractPaymentRepository
    ledger: AbstractLedgerRepository
    packages: AbstractPackageRepository
    policies: AbstractPolicyRepository
    memberships: AbstractMembershipRepository
    due_notices: AbstractDueNoticeRepository
    client_directory: AbstractClientDirectory
    business_calendar: AbstractBusinessCalendar

    async def commit(self) -> None:
        # Invoices first: a new payment's allocations refer to them.
        for invoice in sorted(self.invoices.seen, key=lambda i: i.id):
            await self.invoices.save(invoice)
        for payment in list(self.payments.seen):
            await self.payments.save(payment)
        # Sales after their invoices, and before the lots that name them.
        await self.packages.save_new()
        # Subscriptions after their invoices, and before the lots that name them.
        await self.memberships.save()
        await self.ledger.save_new()
        await self.due_notices.save()
        await super().commit()


class SqlAlchemyBillingUnitOfWork(SqlAlchemyUnitOfWork, BillingUnitOfWork):
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession] | None,
        *,
        nats_prefix: str,
        client_directory: AbstractClientDirectory,
        business_calendar: AbstractBusinessCalendar,
        borrowed: AsyncSession | None = None,
    ) -> None:
        super().__init__(sessions, nats_prefix=nats_prefix, to_envelope=event_mapping.to_envelope, borrowed=borrowed)
        self.client_directory = client_directory
        self.business_calendar = business_calendar

    def _attach(self, session: AsyncSession) -> None:
        self.invoices = SqlAlchemyInvoiceRepository(session)
        self.payments = SqlAlchemyPaymentRepository(session)
        self.ledger = SqlAlchemyLedgerRepository(session)
        self.packages = SqlAlchemyPackageRepository(session)
        self.policies = SqlAlchemyPolicyRepository(session)
        self.memberships = SqlAlchemyMembershipRepository(session)
        self.due_notices = SqlAlchemyDueNoticeRepository(session)
        self.repositories = (
            self.invoices,
            self.payments,
            self.ledger,
            self.packages,
            self.policies,
            self.memberships,
            self.due_notices,
        )

    async def commit(self) -> None:
        try:
            await super().commit()
        except IntegrityError as exc:
            refusal = REFUSALS.get(constraint_of(exc))
            if refusal is not None:
                raise refusal() from exc
            raise
