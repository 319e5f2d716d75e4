"""Routes of packages: defining them (owners and admins), listing them, and selling one to a client (its
invoice and credits in one step). The billing service's PackageService is behind them."""

from __future__ import annotations

from datetime import date

from aiohttp import web

from atrium.membership_billing.v1 import packages_pb2 as pb
from gateway.credits_schemas import AllocationOut, PackageIn, PackageList, PackageOut, SaleIn, SaleOut
from gateway.dependencies import BACKENDS
from gateway.identity.model import Account
from gateway.routes.clients import client_id_of
from gateway.routes.credits import idempotency_key, lot_out
from gateway.routes.registry import api
from platform_core.grpc.values import aware

TAG = "credits"


def package_out(p: pb.Package) -> PackageOut:
    return PackageOut(
        id=p.id,
        name=p.name,
        allocations=[AllocationOut(credit_type_id=a.credit_type_id, amount=a.amount) for a in p.allocations],
        validity_days=p.validity_days or None,
        price_minor=p.price_minor,
        currency=p.currency,
        tax_rate_bp=p.tax_rate_bp,
        invoicing=p.invoicing,
        payment_terms_days=p.payment_terms_days,
        created_at=aware(p.created_at),
    )


@api.route(
    "POST",
    "/api/v1/packages",
    summary="Define a package: credit allocations with a validity and a price",
    tag=TAG,
    body=PackageIn,
    response=PackageOut,
    status=201,
    permission="settings.manage",
    errors=(409,),
    description="409 PACKAGE_EXISTS when the business has a package of that name (case-insensitive).",
)
async def create_package(request: web.Request, body: PackageIn, account: Account) -> PackageOut:
    reply = await request.app[BACKENDS].packages.CreatePackage(
        pb.CreatePackageRequest(
            name=body.name,
            allocations=[
                pb.PackageAllocation(credit_type_id=a.credit_type_id, amount=a.amount) for a in body.allocations
            ],
            validity_days=body.validity_days or 0,
            price_minor=body.price_minor,
            currency=body.currency,
            tax_rate_bp=body.tax_rate_bp,
            invoicing=body.invoicing,
            payment_terms_days=body.payment_terms_days,
        )
    )
    return package_out(reply)


@api.route(
    "GET",
    "/api/v1/packages",
    summary="The business's packages",
    tag=TAG,
    permission="memberships.read",
    response=PackageList,
)
async def list_packages(request: web.Request, account: Account) -> PackageList:
    reply = await request.app[BACKENDS].packages.ListPackages(pb.ListPackagesRequest())
    return PackageList(items=[package_out(p) for p in reply.packages])


@api.route(
    "POST",
    "/api/v1/clients/{client_id}/package-sales",
    summary="Sell a package to a client: its invoice (issued or draft, as the package says) and its credits",
    tag=TAG,
    body=SaleIn,
    response=SaleOut,
    status=201,
    errors=(409,),
    description="An Idempotency-Key header makes retries safe: the same key returns the first sale.",
    permission="memberships.write",
)
async def sell_package(request: web.Request, body: SaleIn, account: Account) -> SaleOut:
    reply = await request.app[BACKENDS].packages.SellPackage(
        pb.SellPackageRequest(
            package_id=body.package_id,
            client_id=client_id_of(request),
            first_day=body.first_day.isoformat() if body.first_day else "",
            request_id=idempotency_key(request),
        )
    )
    return SaleOut(
        id=reply.id,
        package_id=reply.package_id,
        client_id=reply.client_id,
        invoice_id=reply.invoice_id or None,
        first_day=date.fromisoformat(reply.first_day),
        last_day=date.fromisoformat(reply.last_day) if reply.last_day else None,
        lots=[lot_out(x) for x in reply.lots],
        sold_at=aware(reply.sold_at),
    )
