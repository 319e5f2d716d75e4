"""Composition root of the portal-requests service: the only place that wires adapters to use cases."""

from __future__ import annotations

from datetime import timedelta

import grpc
from sqlalchemy.ext.asyncio import AsyncSession

from atrium.client.v1.client_service_pb2_grpc import ClientRecordsStub, CustomFieldsStub
from atrium.portal_requests.v1 import portal_requests_pb2_grpc, public_requests_pb2_grpc
from atrium.scheduling.v1.appointments_pb2_grpc import AppointmentServiceStub
from atrium.scheduling.v1.catalogue_pb2_grpc import CatalogueServiceStub
from atrium.scheduling.v1.holds_pb2_grpc import SlotHoldServiceStub
from platform_core.messaging.consumer import EventConsumer
from platform_core.service import Runtime, ServiceParts
from portal_requests_svc.adapters.catalogue import GrpcCatalogue
from portal_requests_svc.adapters.client_directory import GrpcClientDirectory
from portal_requests_svc.adapters.scheduler import GrpcScheduler
from portal_requests_svc.adapters.slot_finder import GrpcSlotFinder
from portal_requests_svc.adapters.visitor_clients import GrpcVisitorClients
from portal_requests_svc.config import PortalRequestsSettings
from portal_requests_svc.domain.requests import RequestLimits
from portal_requests_svc.entrypoints import (
    billing_consumers,
    client_consumers,
    grpc_server,
    public_grpc_server,
    scheduling_consumers,
)
from portal_requests_svc.entrypoints.hold_reconciler import HoldReconciler
from portal_requests_svc.entrypoints.public_request_purger import PublicRequestPurger
from portal_requests_svc.entrypoints.request_expirer import RequestExpirer
from portal_requests_svc.service_layer.unit_of_work import PortalRequestsPorts, SqlAlchemyPortalRequestsUnitOfWork


def grpc_ports(
    client_channel: grpc.aio.Channel, scheduling_channel: grpc.aio.Channel, settings: PortalRequestsSettings
) -> PortalRequestsPorts:
    """The other services as the use cases ask them, over these channels, and the request limits."""
    clients = ClientRecordsStub(client_channel)
    return PortalRequestsPorts(
        client_directory=GrpcClientDirectory(clients, CustomFieldsStub(client_channel)),
        catalogue=GrpcCatalogue(CatalogueServiceStub(scheduling_channel)),
        scheduler=GrpcScheduler(AppointmentServiceStub(scheduling_channel), SlotHoldServiceStub(scheduling_channel)),
        slot_finder=GrpcSlotFinder(AppointmentServiceStub(scheduling_channel)),
        visitor_clients=GrpcVisitorClients(clients),
        limits=RequestLimits(
            max_open_per_client=settings.max_open_requests_per_client,
            horizon=timedelta(days=settings.request_horizon_days),
            code_ttl=timedelta(seconds=settings.public_request_code_ttl_seconds),
        ),
    )


def build(runtime: Runtime) -> ServiceParts:
    settings = runtime.settings
    assert isinstance(settings, PortalRequestsSettings)
    ports = grpc_ports(runtime.channel("client"), runtime.channel("scheduling"), settings)

    def uow() -> SqlAlchemyPortalRequestsUnitOfWork:
        return SqlAlchemyPortalRequestsUnitOfWork(runtime.sessions, nats_prefix=settings.nats_prefix, ports=ports)

    def uow_within(session: AsyncSession) -> SqlAlchemyPortalRequestsUnitOfWork:
        return SqlAlchemyPortalRequestsUnitOfWork(None, nats_prefix=settings.nats_prefix, ports=ports, borrowed=session)

    servicer = grpc_server.PortalRequestServicer(new_uow=uow, engine=runtime.read_engine)
    # The public booking page's requests, which become ordinary requests through the same use cases.
    public_servicer = public_grpc_server.PublicRequestServicer(new_uow=uow)
    return ServiceParts(
        servicers=[
            (portal_requests_pb2_grpc.add_PortalRequestServiceServicer_to_server, servicer, grpc_server.SERVICE_NAME),
            (
                public_requests_pb2_grpc.add_PublicRequestServiceServicer_to_server,
                public_servicer,
                public_grpc_server.SERVICE_NAME,
            ),
        ],
        # Client merges re-point requests (and unmerges return them); erasures drop the client's messages.
        consumers=[
            EventConsumer(
                name="portal_requests",
                js=runtime.js,
                prefix=settings.nats_prefix,
                sessions=runtime.sessions,
                subscriptions=client_consumers.client_subscriptions(),
                max_deliver=settings.consumer_max_deliver,
            ),
            # Freed times (cancellations, reschedules) are offered to the waitlist.
            EventConsumer(
                name="portal_requests",
                js=runtime.js,
                prefix=settings.nats_prefix,
                sessions=runtime.sessions,
                subscriptions=scheduling_consumers.scheduling_subscriptions(uow_within),
                max_deliver=settings.consumer_max_deliver,
            ),
            # Billing's repeat no-show rule: the clients whose requests wait for staff approval, until when.
            EventConsumer(
                name="portal_requests",
                js=runtime.js,
                prefix=settings.nats_prefix,
                sessions=runtime.sessions,
                subscriptions=billing_consumers.billing_subscriptions(),
                max_deliver=settings.consumer_max_deliver,
            ),
        ],
        # Expires requests whose every preferred time has passed; safe with several replicas (SKIP LOCKED).
        workers=[
            RequestExpirer(
                uow(),
                interval_seconds=settings.expiry_interval_seconds,
                batch_size=settings.expiry_batch_size,
            ),
            # Gives back tentative holds whose submission never committed.
            HoldReconciler(
                uow(),
                interval_seconds=settings.hold_reconcile_interval_seconds,
                grace=timedelta(seconds=settings.hold_reconcile_grace_seconds),
                horizon=ports.limits.horizon,
            ),
            PublicRequestPurger(
                uow(),
                kept_for=timedelta(days=settings.public_request_retention_days),
                interval_seconds=settings.expiry_interval_seconds,
                batch_size=settings.expiry_batch_size,
            ),
        ],
    )
