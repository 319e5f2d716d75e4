"""A unit of work for billing's handlers without a database: in-memory repositories over shared stores, and
fake ports for the client service and the business's calendar. Rows a real repository would lock are plain
objects here; what a unit adds is stored when it commits, and the events it raised are kept in order."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from membership_billing_svc.adapters.business_calendar import AbstractBusinessCalendar
from membership_billing_svc.adapters.client_directory import AbstractClientDirectory, BillTo
from membership_billing_svc.adapters.due_notice_repository import AbstractDueNoticeRepository
from membership_billing_svc.adapters.ledger_repository import AbstractLedgerRepository
from membership_billing_svc.adapters.membership_repository import AbstractMembershipRepository
from membership_billing_svc.adapters.package_repository import AbstractPackageRepository
from membership_billing_svc.adapters.policy_repository import AbstractPolicyRepository
from membership_billing_svc.adapters.repository import AbstractInvoiceRepository, AbstractPaymentRepository
from membership_billing_svc.domain.cancellation_policy import CancellationPolicy, PolicyApplication, Reason
from membership_billing_svc.domain.consumption import CheckIn, PayingLots, ServiceRule
from membership_billing_svc.domain.invoices import OPEN_STATUSES, Invoice, InvoiceKind
from membership_billing_svc.domain.ledger import Account, CreditType, LedgerTransaction, Lot, first_expiring
from membership_billing_svc.domain.loyalty import LoyaltyProgram
from membership_billing_svc.domain.membership_settings import MembershipSettings
from membership_billing_svc.domain.memberships import Membership, Subscription
from membership_billing_svc.domain.packages import Package, PackageSale
from membership_billing_svc.domain.payment_due import due_stage
from membership_billing_svc.domain.payments import Payment, PaymentStatus
from membership_billing_svc.service_layer.unit_of_work import BillingUnitOfWork
from platform_core.errors import Conflict, NotFound


@dataclass
class Stores:
    """What the fake database holds, shared by every unit of work of one test."""

    invoices: dict[uuid.UUID, Invoice] = field(default_factory=dict)
    counters: dict[uuid.UUID, int] = field(default_factory=dict)
    payments: dict[uuid.UUID, Payment] = field(default_factory=dict)
    credit_types: dict[uuid.UUID, CreditType] = field(default_factory=dict)
    lots: dict[uuid.UUID, Lot] = field(default_factory=dict)
    transactions: dict[uuid.UUID, LedgerTransaction] = field(default_factory=dict)
    check_ins: dict[uuid.UUID, CheckIn] = field(default_factory=dict)
    rules: dict[tuple[uuid.UUID, uuid.UUID], list[ServiceRule]] = field(default_factory=dict)
    packages: dict[uuid.UUID, Package] = field(default_factory=dict)
    sales: dict[uuid.UUID, PackageSale] = field(default_factory=dict)
    memberships: dict[uuid.UUID, Membership] = field(default_factory=dict)
    subscriptions: dict[uuid.UUID, Subscription] = field(default_factory=dict)
    # (tenant, request id) of a renewal -> the subscription it renewed
    renewals: dict[tuple[uuid.UUID, str], uuid.UUID] = field(default_factory=dict)
    programs: dict[uuid.UUID, LoyaltyProgram] = field(default_factory=dict)
    settings: dict[uuid.UUID, MembershipSettings] = field(default_factory=dict)
    policies: dict[tuple[uuid.UUID, uuid.UUID | None], CancellationPolicy] = field(default_factory=dict)
    applications: dict[tuple[uuid.UUID, uuid.UUID], PolicyApplication] = field(default_factory=dict)
    notices: set[tuple[uuid.UUID, str]] = field(default_factory=set)

    def remaining(self, lot_id: uuid.UUID) -> int:
        return sum(
            e.amount
            for t in self.transactions.values()
            for e in t.entries
            if e.lot_id == lot_id and e.account is Account.CLIENT
        )


# --- repositories ---------------------------------------------------------------------------------------


class FakeInvoiceRepository(AbstractInvoiceRepository):
    def __init__(self, stores: Stores) -> None:
        super().__init__()
        self._stores = stores

    async def get_many(self, tenant_id: uuid.UUID, invoice_ids: Sequence[uuid.UUID]) -> list[Invoice]:
        found = [i for i in self._stores.invoices.values() if i.tenant_id == tenant_id and i.id in set(invoice_ids)]
        self.seen.update(found)
        return sorted(found, key=lambda i: i.id)

    async def open_for_client(self, tenant_id: uuid.UUID, client_id: uuid.UUID, currency: str) -> list[Invoice]:
        found = [
            i
            for i in self._stores.invoices.values()
            if (i.tenant_id, i.client_id, i.currency) == (tenant_id, client_id, currency) and i.status in OPEN_STATUSES
        ]
        self.seen.update(found)
        return sorted(found, key=lambda i: i.id)

    async def next_number(self, tenant_id: uuid.UUID) -> int:
        self._stores.counters[tenant_id] = self._stores.counters.get(tenant_id, 0) + 1
        return self._stores.counters[tenant_id]

    async def save(self, invoice: Invoice) -> None:
        if invoice.is_new:
            invoice.is_new = False
        else:
            invoice.version += 1
        self._stores.invoices[invoice.id] = invoice


class FakePaymentRepository(AbstractPaymentRepository):
    def __init__(self, stores: Stores) -> None:
        super().__init__()
        self._stores = stores

    async def get(self, tenant_id: uuid.UUID, payment_id: uuid.UUID) -> Payment:
        payment = self._stores.payments.get(payment_id)
        if payment is None or payment.tenant_id != tenant_id:
            raise NotFound("payment not found")
        self.seen.add(payment)
        return payment

    async def with_credit(self, tenant_id: uuid.UUID, client_id: uuid.UUID, currency: str) -> list[Payment]:
        found = [
            p
            for p in self._stores.payments.values()
            if (p.tenant_id, p.client_id, p.currency) == (tenant_id, client_id, currency)
            and p.status is PaymentStatus.RECORDED
            and p.unallocated_minor > 0
        ]
        self.seen.update(found)
        return sorted(found, key=lambda p: p.id)

    async def get_by_request_id(self, tenant_id: uuid.UUID, request_id: str) -> Payment | None:
        return next(
            (p for p in self._stores.payments.values() if (p.tenant_id, p.request_id) == (tenant_id, request_id)),
            None,
        )

    async def save(self, payment: Payment) -> None:
        if payment.is_new and payment.request_id is not None:
            if await self.get_by_request_id(payment.tenant_id, payment.request_id) is not None:
                # As the unique index refuses it (the unit of work's REFUSALS).
                raise Conflict("a payment was already recorded with this request id", reason="DUPLICATE_REQUEST")
        payment.is_new = False
        payment.unsaved_allocations.clear()
        self._stores.payments[payment.id] = payment


class FakeLedgerRepository(AbstractLedgerRepository):
    def __init__(self, stores: Stores) -> None:
        super().__init__()
        self._stores = stores

    async def credit_type(self, tenant_id: uuid.UUID, type_id: uuid.UUID) -> CreditType:
        found = self._stores.credit_types.get(type_id)
        if found is None or found.tenant_id != tenant_id:
            raise NotFound("credit type not found")
        return found

    async def credit_types(self, tenant_id: uuid.UUID, type_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, CreditType]:
        return {
            t.id: t for t in self._stores.credit_types.values() if t.tenant_id == tenant_id and t.id in set(type_ids)
        }

    async def rules_for(self, tenant_id: uuid.UUID, service_id: uuid.UUID) -> list[ServiceRule]:
        return list(self._stores.rules.get((tenant_id, service_id), []))

    async def replace_rules(self, tenant_id: uuid.UUID, service_id: uuid.UUID, rules: Sequence[ServiceRule]) -> None:
        self._stores.rules[(tenant_id, service_id)] = list(rules)

    def _held(self, lots: list[Lot]) -> list[Lot]:
        for lot in lots:
            lot.remaining = self._stores.remaining(lot.id)
        self.seen.update(lots)
        return first_expiring(lots)

    async def lock_holding_of_types(
        self, tenant_id: uuid.UUID, client_id: uuid.UUID, credit_type_ids: Sequence[uuid.UUID], at: datetime
    ) -> list[Lot]:
        lots = self._held(
            [
                lot
                for lot in self._stores.lots.values()
                if (lot.tenant_id, lot.client_id) == (tenant_id, client_id)
                and lot.credit_type_id in set(credit_type_ids)
                and (lot.expires_at is None or lot.expires_at > at)
            ]
        )
        return [lot for lot in lots if lot.remaining > 0]

    async def lock_paying(
        self, tenant_id: uuid.UUID, client_id: uuid.UUID, service_id: uuid.UUID, at: datetime
    ) -> PayingLots:
        rules = {r.credit_type_id: r for r in self._stores.rules.get((tenant_id, service_id), [])}
        lots = await self.lock_holding_of_types(tenant_id, client_id, list(rules), at)
        held = {lot.credit_type_id for lot in lots}
        return PayingLots(
            tuple(rules[t] for t in rules if t in held),
            {t: self._stores.credit_types[t] for t in held},
            tuple(lots),
        )

    async def lock_lots(self, tenant_id: uuid.UUID, lot_ids: Sequence[uuid.UUID]) -> list[Lot]:
        return self._held(
            [lot for lot in self._stores.lots.values() if lot.tenant_id == tenant_id and lot.id in lot_ids]
        )

    async def claim_expired(self, now: datetime, limit: int) -> list[Lot]:
        expired = {
            e.lot_id for t in self._stores.transactions.values() for e in t.entries if e.account is Account.EXPIRED
        }
        due = self._held(
            [
                lot
                for lot in self._stores.lots.values()
                if lot.expires_at is not None and lot.expires_at <= now and lot.id not in expired
            ]
        )
        return [lot for lot in due if lot.remaining > 0][:limit]

    async def transaction(self, tenant_id: uuid.UUID, transaction_id: uuid.UUID) -> LedgerTransaction:
        found = self._stores.transactions.get(transaction_id)
        if found is None or found.tenant_id != tenant_id:
            raise NotFound("ledger transaction not found")
        return found

    async def by_request_id(self, tenant_id: uuid.UUID, request_id: str) -> LedgerTransaction | None:
        return next(
            (t for t in self._stores.transactions.values() if (t.tenant_id, t.request_id) == (tenant_id, request_id)),
            None,
        )

    async def lot_of_charge(self, tenant_id: uuid.UUID, transaction: LedgerTransaction) -> Lot:
        (lot_id,) = {e.lot_id for e in transaction.entries}
        (lot,) = self._held([self._stores.lots[lot_id]])
        return lot

    async def save_new(self) -> None:
        for added in [a for a in self.seen if a.is_new]:
            added.is_new = False
            if isinstance(added, CreditType):
                self._stores.credit_types[added.id] = added
            elif isinstance(added, Lot):
                self._stores.lots[added.id] = added
            elif isinstance(added, LedgerTransaction):
                if added.request_id is not None and await self.by_request_id(added.tenant_id, added.request_id):
                    raise Conflict(
                        "a ledger transaction was already recorded with this request id", reason="DUPLICATE_REQUEST"
                    )
                self._stores.transactions[added.id] = added
            else:
                self._stores.check_ins[added.id] = added


class FakePackageRepository(AbstractPackageRepository):
    def __init__(self, stores: Stores) -> None:
        super().__init__()
        self._stores = stores

    async def get(self, tenant_id: uuid.UUID, package_id: uuid.UUID) -> Package:
        found = self._stores.packages.get(package_id)
        if found is None or found.tenant_id != tenant_id:
            raise NotFound("package not found")
        return found

    async def sale_by_request_id(self, tenant_id: uuid.UUID, request_id: str) -> PackageSale | None:
        return next(
            (s for s in self._stores.sales.values() if (s.tenant_id, s.request_id) == (tenant_id, request_id)), None
        )

    async def save_new(self) -> None:
        for added in [a for a in self.seen if a.is_new]:
            added.is_new = False
            if isinstance(added, Package):
                self._stores.packages[added.id] = added
            else:
                self._stores.sales[added.id] = added


class FakeMembershipRepository(AbstractMembershipRepository):
    def __init__(self, stores: Stores) -> None:
        super().__init__()
        self._stores = stores

    async def loyalty_program(self, tenant_id: uuid.UUID) -> LoyaltyProgram | None:
        return self._stores.programs.get(tenant_id)

    async def put_loyalty_program(self, program: LoyaltyProgram) -> None:
        self._stores.programs[program.tenant_id] = program

    async def settings(self, tenant_id: uuid.UUID) -> MembershipSettings:
        return self._stores.settings.get(tenant_id, MembershipSettings(tenant_id))

    async def put_settings(self, settings: MembershipSettings) -> None:
        self._stores.settings[settings.tenant_id] = settings

    async def get(self, tenant_id: uuid.UUID, membership_id: uuid.UUID) -> Membership:
        found = self._stores.memberships.get(membership_id)
        if found is None or found.tenant_id != tenant_id:
            raise NotFound("membership not found")
        return found

    async def subscription(self, tenant_id: uuid.UUID, subscription_id: uuid.UUID) -> Subscription:
        found = self._stores.subscriptions.get(subscription_id)
        if found is None or found.tenant_id != tenant_id:
            raise NotFound("subscription not found")
        self.seen.add(found)
        return found

    async def subscription_by_request_id(self, tenant_id: uuid.UUID, request_id: str) -> Subscription | None:
        return next(
            (s for s in self._stores.subscriptions.values() if (s.tenant_id, s.request_id) == (tenant_id, request_id)),
            None,
        )

    async def renewal_by_request_id(self, tenant_id: uuid.UUID, request_id: str) -> uuid.UUID | None:
        return self._stores.renewals.get((tenant_id, request_id))

    async def due_tenants(self, now: datetime, limit: int) -> list[uuid.UUID]:
        due = {s.tenant_id for s in self._stores.subscriptions.values() if s.next_review_at and s.next_review_at <= now}
        return sorted(due)[:limit]

    async def claim_due_of(self, tenant_id: uuid.UUID, now: datetime, limit: int) -> list[Subscription]:
        due = sorted(
            (
                s
                for s in self._stores.subscriptions.values()
                if s.tenant_id == tenant_id and s.next_review_at is not None and s.next_review_at <= now
            ),
            key=lambda s: (s.next_review_at, s.id),
        )[:limit]
        self.seen.update(due)
        return due

    async def save(self) -> None:
        for added in self.seen:
            if isinstance(added, Membership):
                added.is_new = False
                self._stores.memberships[added.id] = added
                continue
            if added.is_new:
                added.is_new = False
            else:
                added.version += 1
            for period in added.new_periods:
                if period.kind == "renew" and period.request_id is not None:
                    self._stores.renewals[(added.tenant_id, period.request_id)] = added.id
            added.new_periods.clear()
            self._stores.subscriptions[added.id] = added

    async def move_lot_expiries(self, s: Subscription, zone: str, now: datetime) -> None:
        lots = [
            lot
            for lot in self._stores.lots.values()
            if lot.subscription_id == s.id and lot.expires_at is not None and lot.expires_at > now
        ]
        if s.lot_shift_days:
            # Whole days of the business's calendar: the expiry stays a business midnight.
            for lot in lots:
                assert lot.expires_at is not None
                local = lot.expires_at.astimezone(ZoneInfo(zone))
                lot.expires_at = datetime.combine(
                    local.date() + timedelta(days=s.lot_shift_days), local.time(), tzinfo=ZoneInfo(zone)
                )
            s.lot_shift_days = 0
        if s.lots_end_at is not None:
            for lot in lots:
                assert lot.expires_at is not None
                if lot.expires_at > s.lots_end_at:
                    lot.expires_at = max(s.lots_end_at, lot.starts_at)
            s.lots_end_at = None


class FakePolicyRepository(AbstractPolicyRepository):
    def __init__(self, stores: Stores) -> None:
        super().__init__()
        self._stores = stores

    async def policies(
        self, tenant_id: uuid.UUID, service_ids: Sequence[uuid.UUID]
    ) -> tuple[CancellationPolicy | None, dict[uuid.UUID, CancellationPolicy]]:
        overrides = {
            s: self._stores.policies[(tenant_id, s)] for s in service_ids if (tenant_id, s) in self._stores.policies
        }
        return self._stores.policies.get((tenant_id, None)), overrides

    async def replace(self, policy: CancellationPolicy) -> None:
        self._stores.policies[(policy.tenant_id, policy.service_id)] = policy

    async def delete(self, tenant_id: uuid.UUID, service_id: uuid.UUID | None) -> bool:
        return self._stores.policies.pop((tenant_id, service_id), None) is not None

    async def claim(self, application: PolicyApplication) -> bool:
        key = (application.tenant_id, application.appointment_id)
        if key in self._stores.applications:
            return False
        self._stores.applications[key] = application
        self.seen.add(application)
        return True

    async def no_shows_since(self, tenant_id: uuid.UUID, client_id: uuid.UUID, since: datetime) -> int:
        return sum(
            a.tenant_id == tenant_id
            and a.client_id == client_id
            and a.reason is Reason.NO_SHOW
            and a.starts_at >= since
            for a in self._stores.applications.values()
        )

    async def is_reversed(self, tenant_id: uuid.UUID, transaction_id: uuid.UUID) -> bool:
        return any(
            t.tenant_id == tenant_id and t.reverses_id == transaction_id for t in self._stores.transactions.values()
        )


class FakeDueNoticeRepository(AbstractDueNoticeRepository):
    def __init__(self, stores: Stores) -> None:
        super().__init__()
        self._stores = stores

    def _due(self, tenant_id: uuid.UUID | None, today: date, soon_days: int) -> list[Invoice]:
        due = []
        for i in self._stores.invoices.values():
            if tenant_id is not None and i.tenant_id != tenant_id:
                continue
            if i.status not in OPEN_STATUSES or i.kind is not InvoiceKind.STANDARD or i.due_date is None:
                continue
            found = due_stage(i.due_date, today, soon_days)
            if found is not None and (i.id, found[0].value) not in self._stores.notices:
                due.append(i)
        return sorted(due, key=lambda i: (i.due_date, i.id))

    async def due_tenants(self, utc_today: date, soon_days: int, limit: int) -> list[uuid.UUID]:
        return sorted({i.tenant_id for i in self._due(None, utc_today + timedelta(days=1), soon_days)})[:limit]

    async def claim(self, tenant_id: uuid.UUID, today: date, soon_days: int, limit: int) -> list[Any]:
        return [
            SimpleNamespace(
                id=i.id,
                client_id=i.client_id,
                number=i.number,
                currency=i.currency,
                total_minor=i.total_minor,
                paid_minor=i.paid_minor,
                due_date=i.due_date,
            )
            for i in self._due(tenant_id, today, soon_days)[:limit]
        ]

    async def save(self) -> None:
        for notice in self.seen:
            key = (notice.invoice_id, notice.stage.value)
            if key in self._stores.notices:
                notice.events.clear()
            self._stores.notices.add(key)


# --- ports ----------------------------------------------------------------------------------------------


class FakeClientDirectory(AbstractClientDirectory):
    """Clients by id (a merged-away one answers with its survivor); the online-booking blocks asked for."""

    def __init__(self) -> None:
        self.clients: dict[uuid.UUID, BillTo] = {}
        self.blocks: list[tuple[uuid.UUID, datetime, str]] = []

    def add(self, name: str, *, merged_into: uuid.UUID | None = None) -> uuid.UUID:
        client_id = uuid.uuid4()
        self.clients[client_id] = self.clients[merged_into] if merged_into is not None else BillTo(client_id, name)
        return client_id

    async def bill_to(self, client_id: uuid.UUID) -> BillTo | None:
        return self.clients.get(client_id)

    async def block_online_booking(self, client_id: uuid.UUID, *, until: datetime, reason: str) -> None:
        self.blocks.append((client_id, until, reason))


class FakeBusinessCalendar(AbstractBusinessCalendar):
    def __init__(self, zone: str = "UTC") -> None:
        self.zone = ZoneInfo(zone)

    async def timezone(self) -> ZoneInfo:
        return self.zone


# --- the unit of work -----------------------------------------------------------------------------------


class FakeUnitOfWork(BillingUnitOfWork):
    def __init__(
        self,
        stores: Stores | None = None,
        *,
        client_directory: FakeClientDirectory | None = None,
        business_calendar: FakeBusinessCalendar | None = None,
    ) -> None:
        self.stores = stores or Stores()
        self.client_directory = self.clients = client_directory or FakeClientDirectory()
        self.business_calendar = business_calendar or FakeBusinessCalendar()
        self.commits = 0
        self.published: list[Any] = []

    async def _start(self) -> None:
        # A fresh unit: nothing seen yet, as a new session.
        self.invoices = FakeInvoiceRepository(self.stores)
        self.payments = FakePaymentRepository(self.stores)
        self.ledger = FakeLedgerRepository(self.stores)
        self.packages = FakePackageRepository(self.stores)
        self.policies = FakePolicyRepository(self.stores)
        self.memberships = FakeMembershipRepository(self.stores)
        self.due_notices = FakeDueNoticeRepository(self.stores)
        self.repositories = (
            self.invoices,
            self.payments,
            self.ledger,
            self.packages,
            self.policies,
            self.memberships,
            self.due_notices,
        )

    async def _commit(self, events: list[Any]) -> None:
        self.commits += 1
        self.published.extend(events)

    async def rollback(self) -> None:
        pass

    async def _close(self) -> None:
        pass

    def published_of(self, kind: type) -> list[Any]:
        return [e for e in self.published if isinstance(e, kind)]
