"""Composition root of the portal-requests service: the only place that wires adapters to use cases."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from atrium.client.v1.client_service_pb2_grpc import ClientRecordsStub
from atrium.portal_requests.v1 import portal_requests_pb2_grpc, public_requests_pb2_grpc
from atrium.scheduling.v1.appointments_pb2_grpc import AppointmentServiceStub
from atrium.scheduling.v1.catalogue_pb2_grpc import CatalogueServiceStub
from atrium.scheduling.v1.holds_pb2_grpc import SlotHoldServiceStub
from platform_core.messaging.consumer import EventConsumer
from platform_core.service import Runtime, ServiceParts
from portal_requests_svc.adapters.public_slots import GrpcSlotFinder
from portal_requests_svc.adapters.remote import GrpcCatalogue, GrpcClientDirectory, GrpcScheduler
from portal_requests_svc.adapters.visitor_clients import GrpcVisitorClients
from portal_requests_svc.config import PortalRequestsSettings
from portal_requests_svc.entrypoints import client_consumers, grpc_server, public_grpc_server, scheduling_consumers
from portal_requests_svc.entrypoints.hold_reconciler import HoldReconciler
from portal_requests_svc.entrypoints.public_request_purger import PublicRequestPurger
from portal_requests_svc.entrypoints.request_expirer import RequestExpirer
from portal_requests_svc.service_layer.handlers import RequestLimits
from portal_requests_svc.service_layer.public_requests import PublicRequestPorts
from portal_requests_svc.service_layer.public_unit_of_work import SqlAlchemyPublicRequestsUnitOfWork
from portal_requests_svc.service_layer.unit_of_work import SqlAlchemyPortalRequestsUnitOfWork


def build(runtime: Runtime) -> ServiceParts:
    settings = runtime.settings
    assert isinstance(settings, PortalRequestsSettings)

    def uow() -> SqlAlchemyPortalRequestsUnitOfWork:
        return SqlAlchemyPortalRequestsUnitOfWork(runtime.sessions, nats_prefix=settings.nats_prefix)

    def uow_within(session: AsyncSession) -> SqlAlchemyPortalRequestsUnitOfWork:
        return SqlAlchemyPortalRequestsUnitOfWork(None, nats_prefix=settings.nats_prefix, borrowed=session)

    def public_uow() -> SqlAlchemyPublicRequestsUnitOfWork:
        return SqlAlchemyPublicRequestsUnitOfWork(runtime.sessions, nats_prefix=settings.nats_prefix)

    scheduling = runtime.channel("scheduling")
    scheduler = GrpcScheduler(AppointmentServiceStub(scheduling), SlotHoldServiceStub(scheduling))
    clients = ClientRecordsStub(runtime.channel("client"))
    directory = GrpcClientDirectory(clients)
    catalogue = GrpcCatalogue(CatalogueServiceStub(scheduling))
    limits = RequestLimits(
        max_open_per_client=settings.max_open_requests_per_client,
        horizon=timedelta(days=settings.request_horizon_days),
    )
    servicer = grpc_server.PortalRequestServicer(
        uow_factory=uow,
        engine=runtime.read_engine,
        directory=directory,
        catalogue=catalogue,
        scheduler=scheduler,
        limits=limits,
    )
    # The public booking page's requests, which become ordinary requests through the same parts.
    public_servicer = public_grpc_server.PublicRequestServicer(
        public_uow=public_uow,
        ports=PublicRequestPorts(
            uow_factory=uow,
            directory=directory,
            catalogue=catalogue,
            scheduler=scheduler,
            slots=GrpcSlotFinder(AppointmentServiceStub(scheduling)),
            visitors=GrpcVisitorClients(clients),
            limits=limits,
            code_ttl=timedelta(seconds=settings.public_request_code_ttl_seconds),
        ),
    )
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
                subscriptions=scheduling_consumers.scheduling_subscriptions(uow_within, scheduler),
                max_deliver=settings.consumer_max_deliver,
            ),
        ],
        # Expires requests whose every preferred time has passed; safe with several replicas (SKIP LOCKED).
        workers=[
            RequestExpirer(
                uow,
                scheduler,
                interval_seconds=settings.expiry_interval_seconds,
                batch_size=settings.expiry_batch_size,
            ),
            # Gives back tentative holds whose submission never committed.
            HoldReconciler(
                uow,
                scheduler,
                interval_seconds=settings.hold_reconcile_interval_seconds,
                grace=timedelta(seconds=settings.hold_reconcile_grace_seconds),
                horizon=limits.horizon,
            ),
            PublicRequestPurger(
                runtime.sessions,
                kept_for=timedelta(days=settings.public_request_retention_days),
                interval_seconds=settings.expiry_interval_seconds,
                batch_size=settings.expiry_batch_size,
            ),
        ],
    )
