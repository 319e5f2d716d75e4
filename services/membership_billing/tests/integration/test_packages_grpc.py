"""Packages over gRPC against real PostgreSQL: a sale issues its invoice (or leaves a draft) and charges its
lots in one transaction, once per request id; a package of another business is not there."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from atrium.client.v1 import client_service_pb2 as client_pb
from atrium.client.v1 import client_service_pb2_grpc as client_grpc
from atrium.membership_billing.v1 import billing_pb2 as billing_pb
from atrium.membership_billing.v1 import billing_pb2_grpc as billing_grpc
from atrium.membership_billing.v1 import ledger_pb2 as ledger_pb
from atrium.membership_billing.v1 import ledger_pb2_grpc as ledger_grpc
from atrium.membership_billing.v1 import packages_pb2 as pb
from atrium.membership_billing.v1 import packages_pb2_grpc as pb_grpc
from platform_core.grpc.context import CallContext, Principal, bind_call_context
from platform_core.grpc.values import aware


def staff(tenant: uuid.UUID) -> CallContext:
    return CallContext(tenant, Principal("staff", str(uuid.uuid4()), "owner"))


@pytest.fixture
def packages(billing_channel: grpc.aio.Channel) -> pb_grpc.PackageServiceStub:
    return pb_grpc.PackageServiceStub(billing_channel)


@pytest.fixture
def ledger(billing_channel: grpc.aio.Channel) -> ledger_grpc.LedgerServiceStub:
    return ledger_grpc.LedgerServiceStub(billing_channel)


@pytest.fixture
def billing(billing_channel: grpc.aio.Channel) -> billing_grpc.BillingServiceStub:
    return billing_grpc.BillingServiceStub(billing_channel)


@pytest.fixture
def clients(billing_client_channel: grpc.aio.Channel) -> client_grpc.ClientRecordsStub:
    return client_grpc.ClientRecordsStub(billing_client_channel)


async def ten_massages(
    packages: pb_grpc.PackageServiceStub, ledger: ledger_grpc.LedgerServiceStub, invoicing: str
) -> tuple[pb.Package, str]:
    massage = await ledger.CreateCreditType(ledger_pb.CreateCreditTypeRequest(name="Massage 60", unit="session"))
    package = await packages.CreatePackage(
        pb.CreatePackageRequest(
            name=f"Ten massages ({invoicing})",
            allocations=[pb.PackageAllocation(credit_type_id=massage.id, amount=10)],
            validity_days=90,
            price_minor=50000,
            currency="EUR",
            tax_rate_bp=1000,
            invoicing=invoicing,
            payment_terms_days=7,
        )
    )
    return package, massage.id


async def test_selling_a_package_issues_its_invoice_and_charges_its_sessions_once_per_request(
    packages: pb_grpc.PackageServiceStub,
    ledger: ledger_grpc.LedgerServiceStub,
    billing: billing_grpc.BillingServiceStub,
    clients: client_grpc.ClientRecordsStub,
) -> None:
    with bind_call_context(staff(uuid.uuid4())):
        client_id = (await clients.CreateClient(client_pb.CreateClientRequest(first_name="Pia", last_name="Pack"))).id
        package, massage_id = await ten_massages(packages, ledger, "auto")
        assert [p.id for p in (await packages.ListPackages(pb.ListPackagesRequest())).packages] == [package.id]

        request = pb.SellPackageRequest(package_id=package.id, client_id=client_id, request_id="sale-1")
        sales = await asyncio.gather(*(packages.SellPackage(request) for _ in range(4)))
        assert len({s.id for s in sales}) == 1
        sale = sales[0]
        today = datetime.now(UTC).date()
        assert (sale.first_day, sale.last_day) == (today.isoformat(), (today + timedelta(days=89)).isoformat())
        (lot,) = sale.lots
        assert (lot.credit_type_id, lot.amount, lot.remaining) == (massage_id, 10, 10)

        invoice = await billing.GetInvoice(billing_pb.GetInvoiceRequest(invoice_id=sale.invoice_id))
        assert (invoice.status, invoice.total_minor, invoice.bill_to_name) == ("issued", 55000, "Pia Pack")
        assert invoice.number >= 1 and invoice.due_date == (today + timedelta(days=7)).isoformat()
        assert [line.description for line in invoice.lines] == [package.name]

        balances = await ledger.GetCreditBalances(ledger_pb.GetCreditBalancesRequest(client_id=client_id))
        assert [(b.credit_type.id, b.balance) for b in balances.balances] == [(massage_id, 10)]
        assert aware(balances.balances[0].lots[0].expires_at).date() == today + timedelta(days=90)


async def test_a_draft_invoicing_package_leaves_the_invoice_for_staff_and_bad_input_names_its_field(
    packages: pb_grpc.PackageServiceStub,
    ledger: ledger_grpc.LedgerServiceStub,
    billing: billing_grpc.BillingServiceStub,
    clients: client_grpc.ClientRecordsStub,
) -> None:
    tenant = uuid.uuid4()
    with bind_call_context(staff(tenant)):
        client_id = (await clients.CreateClient(client_pb.CreateClientRequest(first_name="Dora", last_name="D"))).id
        package, _ = await ten_massages(packages, ledger, "draft")
        sale = await packages.SellPackage(pb.SellPackageRequest(package_id=package.id, client_id=client_id))
        invoice = await billing.GetInvoice(billing_pb.GetInvoiceRequest(invoice_id=sale.invoice_id))
        assert (invoice.status, invoice.number) == ("draft", 0)

        for bad, field in (
            (pb.SellPackageRequest(package_id=str(uuid.uuid4()), client_id=client_id), "package_id"),
            (pb.SellPackageRequest(package_id=package.id, client_id=str(uuid.uuid4())), "client_id"),
            (pb.SellPackageRequest(package_id=package.id, client_id=client_id, first_day="2020-01-01"), "first_day"),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await packages.SellPackage(bad)
            assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT and field in refused.value.details()
        with pytest.raises(grpc.aio.AioRpcError) as unknown_type:
            await packages.CreatePackage(
                pb.CreatePackageRequest(
                    name="Ghost",
                    allocations=[pb.PackageAllocation(credit_type_id=str(uuid.uuid4()), amount=1)],
                    currency="EUR",
                )
            )
        assert "allocations[0].credit_type_id" in unknown_type.value.details()

    with bind_call_context(staff(uuid.uuid4())):
        with pytest.raises(grpc.aio.AioRpcError) as elsewhere:
            await packages.SellPackage(pb.SellPackageRequest(package_id=package.id, client_id=client_id))
        assert elsewhere.value.code() is grpc.StatusCode.INVALID_ARGUMENT
