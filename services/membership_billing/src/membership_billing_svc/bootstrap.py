"""Composition root of the billing service: the only place that wires adapters to use cases."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from atrium.client.v1.client_service_pb2_grpc import ClientRecordsStub
from atrium.membership_billing.v1 import (
    billing_pb2_grpc,
    billing_reports_pb2_grpc,
    documents_pb2_grpc,
    ledger_pb2_grpc,
    memberships_pb2_grpc,
    packages_pb2_grpc,
    policy_pb2_grpc,
)
from atrium.scheduling.v1.catalogue_pb2_grpc import CatalogueServiceStub
from membership_billing_svc.adapters.business_calendar import GrpcBusinessCalendar
from membership_billing_svc.adapters.client_directory import GrpcClientDirectory
from membership_billing_svc.config import BillingSettings
from membership_billing_svc.entrypoints import (
    billing_report_server,
    billing_server,
    client_consumers,
    document_server,
    ledger_server,
    membership_server,
    package_server,
    policy_server,
    scheduling_consumers,
)
from membership_billing_svc.entrypoints.credit_expirer import CreditExpirer
from membership_billing_svc.entrypoints.payment_due_notifier import PaymentDueNotifier
from membership_billing_svc.entrypoints.subscription_reviewer import SubscriptionReviewer
from membership_billing_svc.service_layer.unit_of_work import BillingUnitOfWork, SqlAlchemyBillingUnitOfWork
from platform_core.messaging.consumer import EventConsumer
from platform_core.service import Runtime, ServiceParts


def build(runtime: Runtime) -> ServiceParts:
    settings = runtime.settings
    assert isinstance(settings, BillingSettings)

    directory = GrpcClientDirectory(ClientRecordsStub(runtime.channel("client")))
    calendar = GrpcBusinessCalendar(CatalogueServiceStub(runtime.channel("scheduling")))

    def uow() -> BillingUnitOfWork:
        return SqlAlchemyBillingUnitOfWork(
            runtime.sessions, nats_prefix=settings.nats_prefix, client_directory=directory, business_calendar=calendar
        )

    def uow_within(session: AsyncSession) -> BillingUnitOfWork:
        return SqlAlchemyBillingUnitOfWork(
            None,
            nats_prefix=settings.nats_prefix,
            client_directory=directory,
            business_calendar=calendar,
            borrowed=session,
        )

    return ServiceParts(
        servicers=[
            (
                billing_pb2_grpc.add_BillingServiceServicer_to_server,
                billing_server.BillingServicer(uow_factory=uow, engine=runtime.read_engine, calendar=calendar),
                billing_server.SERVICE_NAME,
            ),
            (
                ledger_pb2_grpc.add_LedgerServiceServicer_to_server,
                ledger_server.LedgerServicer(uow_factory=uow, engine=runtime.read_engine, calendar=calendar),
                ledger_server.SERVICE_NAME,
            ),
            (
                packages_pb2_grpc.add_PackageServiceServicer_to_server,
                package_server.PackageServicer(uow_factory=uow, engine=runtime.read_engine),
                package_server.SERVICE_NAME,
            ),
            (
                policy_pb2_grpc.add_CancellationPolicyServiceServicer_to_server,
                policy_server.CancellationPolicyServicer(
                    uow_factory=uow, engine=runtime.read_engine, calendar=calendar
                ),
                policy_server.SERVICE_NAME,
            ),
            (
                documents_pb2_grpc.add_DocumentServiceServicer_to_server,
                document_server.DocumentServicer(engine=runtime.read_engine, directory=directory, calendar=calendar),
                document_server.SERVICE_NAME,
            ),
            (
                billing_reports_pb2_grpc.add_BillingReportServiceServicer_to_server,
                billing_report_server.BillingReportServicer(engine=runtime.read_engine, calendar=calendar),
                billing_report_server.SERVICE_NAME,
            ),
            (
                memberships_pb2_grpc.add_MembershipServiceServicer_to_server,
                membership_server.MembershipServicer(uow_factory=uow, engine=runtime.read_engine),
                membership_server.SERVICE_NAME,
            ),
        ],
        # Opening balances from new clients; merges re-point invoices and payments; erasures drop notes.
        consumers=[
            EventConsumer(
                name="membership_billing",
                js=runtime.js,
                prefix=settings.nats_prefix,
                sessions=runtime.sessions,
                subscriptions=client_consumers.client_subscriptions(uow_within),
                max_deliver=settings.consumer_max_deliver,
            ),
            # Completed appointments consume what pays for their services; cancelled ones and no-shows fall
            # under the cancellation policy.
            EventConsumer(
                name="membership_billing",
                js=runtime.js,
                prefix=settings.nats_prefix,
                sessions=runtime.sessions,
                subscriptions=scheduling_consumers.scheduling_subscriptions(uow_within),
                max_deliver=settings.consumer_max_deliver,
            ),
        ],
        workers=[
            CreditExpirer(
                uow,
                interval_seconds=settings.credit_expiry_interval_seconds,
                batch_size=settings.credit_expiry_batch_size,
            ),
            SubscriptionReviewer(
                uow,
                interval_seconds=settings.subscription_review_interval_seconds,
                batch_size=settings.subscription_review_batch_size,
            ),
            PaymentDueNotifier(
                uow,
                soon_days=settings.payment_due_soon_days,
                interval_seconds=settings.payment_due_interval_seconds,
                batch_size=settings.payment_due_batch_size,
            ),
        ],
    )
