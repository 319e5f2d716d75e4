"""Packages and their sales in PostgreSQL."""

from __future__ import annotations

import abc
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from membership_billing_svc.adapters.ledger_repository import lot_from_row, remaining_of
from membership_billing_svc.adapters.tables import credit_lots, package_allocations, package_sales, packages
from membership_billing_svc.domain.packages import Allocation, Invoicing, Package, PackageSale
from platform_core.errors import NotFound

Executor = AsyncSession | AsyncConnection


async def packages_with_allocations(db: Executor, rows: Sequence[Any]) -> list[Package]:
    if not rows:
        return []
    allocation_rows = (
        await db.execute(
            select(package_allocations)
            .where(
                package_allocations.c.tenant_id == rows[0].tenant_id,
                package_allocations.c.package_id.in_([r.id for r in rows]),
            )
            .order_by(package_allocations.c.credit_type_id)
        )
    ).all()
    by_package: dict[uuid.UUID, list[Allocation]] = defaultdict(list)
    for a in allocation_rows:
        by_package[a.package_id].append(Allocation(a.credit_type_id, a.amount))
    return [
        Package(
            tenant_id=r.tenant_id,
            id=r.id,
            name=r.name,
            allocations=tuple(by_package[r.id]),
            validity_days=r.validity_days,
            price_minor=r.price_minor,
            currency=r.currency,
            tax_rate_bp=r.tax_rate_bp,
            invoicing=Invoicing(r.invoicing),
            payment_terms_days=r.payment_terms_days,
            created_at=r.created_at,
        )
        for r in rows
    ]


async def sales_with_lots(db: Executor, rows: Sequence[Any]) -> list[PackageSale]:
    """The sales of ``rows`` with the lots they gave (and what each holds now)."""
    if not rows:
        return []
    tenant_id = rows[0].tenant_id
    lot_rows = (
        await db.execute(
            select(credit_lots)
            .where(credit_lots.c.tenant_id == tenant_id, credit_lots.c.package_sale_id.in_([r.id for r in rows]))
            .order_by(credit_lots.c.credit_type_id)
        )
    ).all()
    remaining = await remaining_of(db, tenant_id, [r.id for r in lot_rows])
    by_sale: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for lot in lot_rows:
        by_sale[lot.package_sale_id].append(lot_from_row(lot, remaining.get(lot.id, 0)))
    return [
        PackageSale(
            tenant_id=r.tenant_id,
            id=r.id,
            package_id=r.package_id,
            client_id=r.client_id,
            invoice_id=r.invoice_id,
            first_day=r.first_day,
            last_day=r.last_day,
            sold_at=r.sold_at,
            request_id=r.request_id,
            lots=by_sale[r.id],
        )
        for r in rows
    ]


class AbstractPackageRepository(abc.ABC):
    """Packages and their sales; what a unit adds is inserted when it commits."""

    def __init__(self) -> None:
        self.seen: set[Package | PackageSale] = set()

    def add(self, aggregate: Package | PackageSale) -> None:
        self.seen.add(aggregate)

    @abc.abstractmethod
    async def get(self, tenant_id: uuid.UUID, package_id: uuid.UUID) -> Package: ...

    @abc.abstractmethod
    async def sale_by_request_id(self, tenant_id: uuid.UUID, request_id: str) -> PackageSale | None: ...

    @abc.abstractmethod
    async def save_new(self) -> None: ...


class SqlAlchemyPackageRepository(AbstractPackageRepository):
    def __init__(self, session: AsyncSession) -> None:
        super().__init__()
        self._session = session

    async def get(self, tenant_id: uuid.UUID, package_id: uuid.UUID) -> Package:
        rows = (
            await self._session.execute(
                select(packages).where(packages.c.tenant_id == tenant_id, packages.c.id == package_id)
            )
        ).all()
        found = await packages_with_allocations(self._session, rows)
        if not found:
            raise NotFound("package not found")
        return found[0]

    async def sale_by_request_id(self, tenant_id: uuid.UUID, request_id: str) -> PackageSale | None:
        rows = (
            await self._session.execute(
                select(package_sales).where(
                    package_sales.c.tenant_id == tenant_id, package_sales.c.request_id == request_id
                )
            )
        ).all()
        found = await sales_with_lots(self._session, rows)
        return found[0] if found else None

    async def save_new(self) -> None:
        for package in [a for a in self.seen if isinstance(a, Package) and a.is_new]:
            await self._session.execute(
                insert(packages).values(
                    tenant_id=package.tenant_id,
                    id=package.id,
                    name=package.name,
                    validity_days=package.validity_days,
                    price_minor=package.price_minor,
                    currency=package.currency,
                    tax_rate_bp=package.tax_rate_bp,
                    invoicing=package.invoicing.value,
                    payment_terms_days=package.payment_terms_days,
                    created_at=package.created_at,
                )
            )
            await self._session.execute(
                insert(package_allocations),
                [
                    {
                        "tenant_id": package.tenant_id,
                        "package_id": package.id,
                        "credit_type_id": a.credit_type_id,
                        "amount": a.amount,
                    }
                    for a in package.allocations
                ],
            )
            package.is_new = False
        for sale in [a for a in self.seen if isinstance(a, PackageSale) and a.is_new]:
            await self._session.execute(
                insert(package_sales).values(
                    tenant_id=sale.tenant_id,
                    id=sale.id,
                    package_id=sale.package_id,
                    client_id=sale.client_id,
                    invoice_id=sale.invoice_id,
                    first_day=sale.first_day,
                    last_day=sale.last_day,
                    sold_at=sale.sold_at,
                    request_id=sale.request_id,
                )
            )
            sale.is_new = False
