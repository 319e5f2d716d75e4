"""Use cases of packages: defining one, and selling one to a client (invoice and lots in one transaction)."""

from __future__ import annotations

from datetime import date

from membership_billing_svc.domain import commands
from membership_billing_svc.domain.ledger import ChargeTerms
from membership_billing_svc.domain.packages import Allocation, Invoicing, Package, PackageSale, sell
from membership_billing_svc.service_layer.handlers import _apply_client_credit
from membership_billing_svc.service_layer.unit_of_work import DUPLICATE_REQUEST, BillingUnitOfWork
from platform_core.errors import Conflict, InvalidArgument, NotFound
from platform_core.ids import new_id


async def define_package(cmd: commands.DefinePackage, uow: BillingUnitOfWork) -> Package:
    package = Package.define(
        cmd.tenant_id,
        new_id(),
        name=cmd.name,
        allocations=[Allocation(type_id, amount) for type_id, amount in cmd.allocations],
        validity_days=cmd.validity_days,
        price_minor=cmd.price_minor,
        currency=cmd.currency,
        tax_rate_bp=cmd.tax_rate_bp,
        invoicing=cmd.invoicing,
        payment_terms_days=cmd.payment_terms_days,
        now=cmd.now,
    )
    async with uow:
        known = await uow.ledger.credit_types(cmd.tenant_id, [a.credit_type_id for a in package.allocations])
        for i, allocation in enumerate(package.allocations):
            if allocation.credit_type_id not in known:
                raise InvalidArgument.single(
                    f"allocations[{i}].credit_type_id", "is not a credit type of this business"
                )
        uow.packages.add(package)
        await uow.commit()
    return package


async def sell_package(cmd: commands.SellPackage, uow: BillingUnitOfWork) -> PackageSale:
    """A retry with the request id returns the first sale."""
    if cmd.request_id:
        replayed = await _sold_with(uow, cmd)
        if replayed is not None:
            return replayed
    client = await uow.client_directory.bill_to(cmd.client_id)
    if client is None:
        raise InvalidArgument.single("client_id", "is not a client of this business")
    zone = await uow.business_calendar.timezone()
    today = cmd.now.astimezone(zone).date()
    first_day = cmd.first_day or today
    if first_day < today:
        raise InvalidArgument.single("first_day", "must be today or later")

    def terms_of(amount: int, first: date, last: date | None) -> ChargeTerms:
        return ChargeTerms.checked(amount, starts_on=first, expires_on=last, note="", zone=zone, now=cmd.now)

    try:
        async with uow:
            try:
                package = await uow.packages.get(cmd.tenant_id, cmd.package_id)
            except NotFound:
                raise InvalidArgument.single("package_id", "is not a package of this business") from None
            credit_types = await uow.ledger.credit_types(cmd.tenant_id, [a.credit_type_id for a in package.allocations])
            sale = sell(
                package,
                credit_types,
                sale_id=new_id(),
                client_id=client.client_id,
                first_day=first_day,
                terms_of=terms_of,
                new_id=new_id,
                now=cmd.now,
                request_id=cmd.request_id,
            )
            if sale.invoice is not None:
                uow.invoices.add(sale.invoice)
                if package.invoicing is Invoicing.AUTO:
                    # The number last: the counter row stays locked from here to the commit.
                    number = await uow.invoices.next_number(cmd.tenant_id)
                    sale.invoice.issue(number=number, issue_date=today, bill_to_name=client.name, now=cmd.now)
                    await _apply_client_credit(uow, sale.invoice, cmd.now)
            uow.packages.add(sale)
            for lot in sale.lots:
                uow.ledger.add(lot)
            for transaction in sale.transactions:
                uow.ledger.add(transaction)
            await uow.commit()
    except Conflict as exc:
        first = await _sold_with(uow, cmd) if exc.reason == DUPLICATE_REQUEST else None
        if first is None:
            raise
        return first
    return sale


async def _sold_with(uow: BillingUnitOfWork, cmd: commands.SellPackage) -> PackageSale | None:
    assert cmd.request_id
    async with uow:
        first = await uow.packages.sale_by_request_id(cmd.tenant_id, cmd.request_id)
    if first is not None and first.package_id != cmd.package_id:
        raise Conflict("this request id was used for another sale", reason="REQUEST_ID_REUSED")
    return first
