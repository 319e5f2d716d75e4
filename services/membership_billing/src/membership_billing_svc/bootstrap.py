"""Composition root of the billing service: the only place that wires adapters to use cases."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from atrium.client.v1.client_service_pb2_grpc import ClientServiceStub
from atrium.membership_billing.v1 import billing_pb2_grpc
from membership_billing_svc.adapters.client_directory import GrpcClientDirectory
from membership_billing_svc.config import BillingSettings
from membership_billing_svc.entrypoints import billing_server, client_consumers
from membership_billing_svc.service_layer.unit_of_work import BillingUnitOfWork
from platform_core.messaging.consumer import EventConsumer
from platform_core.service import Runtime, ServiceParts


def build(runtime: Runtime) -> ServiceParts:
    settings = runtime.settings
    assert isinstance(settings, BillingSettings)

    def uow() -> BillingUnitOfWork:
        return BillingUnitOfWork(runtime.sessions, nats_prefix=settings.nats_prefix)

    def uow_within(session: AsyncSession) -> BillingUnitOfWork:
        return BillingUnitOfWork(None, nats_prefix=settings.nats_prefix, borrowed=session)

    directory = GrpcClientDirectory(ClientServiceStub(runtime.channel("client")))
    return ServiceParts(
        servicers=[
            (
                billing_pb2_grpc.add_BillingServiceServicer_to_server,
                billing_server.BillingServicer(uow_factory=uow, engine=runtime.read_engine, directory=directory),
                billing_server.SERVICE_NAME,
            )
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
            )
        ],
    )
