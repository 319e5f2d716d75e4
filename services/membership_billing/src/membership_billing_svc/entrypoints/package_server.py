"""gRPC servicer of packages: proto in, command or view, proto out. Staff only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import grpc
from sqlalchemy.ext.asyncio import AsyncEngine

from atrium.membership_billing.v1 import packages_pb2 as pb
from atrium.membership_billing.v1 import packages_pb2_grpc as pb_grpc
from membership_billing_svc import ledger_views
from membership_billing_svc.domain import commands
from membership_billing_svc.domain.packages import Package, PackageSale
from membership_billing_svc.entrypoints.ledger_server import lot_message, optional_date, request_id_of
from membership_billing_svc.service_layer import package_handlers
from membership_billing_svc.service_layer.unit_of_work import BillingUnitOfWork
from platform_core.grpc.values import reference_id, require_staff, timestamp

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["PackageService"].full_name


def package_message(p: Package) -> pb.Package:
    return pb.Package(
        id=str(p.id),
        name=p.name,
        allocations=[
            pb.PackageAllocation(credit_type_id=str(a.credit_type_id), amount=a.amount) for a in p.allocations
        ],
        validity_days=p.validity_days or 0,
        price_minor=p.price_minor,
        currency=p.currency,
        tax_rate_bp=p.tax_rate_bp,
        invoicing=p.invoicing.value,
        payment_terms_days=p.payment_terms_days,
        created_at=timestamp(p.created_at),
    )


def sale_message(s: PackageSale) -> pb.PackageSale:
    return pb.PackageSale(
        id=str(s.id),
        package_id=str(s.package_id),
        client_id=str(s.client_id),
        invoice_id=str(s.invoice_id or ""),
        first_day=s.first_day.isoformat(),
        last_day=s.last_day.isoformat() if s.last_day else "",
        lots=[lot_message(lot) for lot in s.lots],
        sold_at=timestamp(s.sold_at),
    )


class PackageServicer(pb_grpc.PackageServiceServicer):
    def __init__(
        self,
        *,
        uow_factory: Callable[[], BillingUnitOfWork],
        engine: AsyncEngine,
    ) -> None:
        self._uow_factory = uow_factory
        self._engine = engine

    async def CreatePackage(self, request: pb.CreatePackageRequest, context: grpc.aio.ServicerContext) -> pb.Package:
        call = require_staff()
        allocations = tuple(
            (reference_id(a.credit_type_id, f"allocations[{i}].credit_type_id", "credit type"), a.amount)
            for i, a in enumerate(request.allocations)
        )
        package = await package_handlers.define_package(
            commands.DefinePackage(
                tenant_id=call.tenant_id,
                name=request.name,
                allocations=allocations,
                validity_days=request.validity_days or None,
                price_minor=request.price_minor,
                currency=request.currency,
                tax_rate_bp=request.tax_rate_bp,
                invoicing=request.invoicing or "auto",
                payment_terms_days=request.payment_terms_days,
                now=datetime.now(UTC),
            ),
            self._uow_factory(),
        )
        return package_message(package)

    async def ListPackages(
        self, request: pb.ListPackagesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListPackagesResponse:
        call = require_staff()
        found = await ledger_views.list_packages(self._engine, call.tenant_id)
        return pb.ListPackagesResponse(packages=[package_message(p) for p in found])

    async def SellPackage(self, request: pb.SellPackageRequest, context: grpc.aio.ServicerContext) -> pb.PackageSale:
        call = require_staff()
        sale = await package_handlers.sell_package(
            commands.SellPackage(
                tenant_id=call.tenant_id,
                package_id=reference_id(request.package_id, "package_id", "package"),
                client_id=reference_id(request.client_id, "client_id", "client"),
                first_day=optional_date(request.first_day, "first_day"),
                request_id=request_id_of(request.request_id),
                now=datetime.now(UTC),
            ),
            self._uow_factory(),
        )
        return sale_message(sale)
