"""Composition root of the scheduling service: the only place that wires adapters to use cases."""

from __future__ import annotations

from atrium.client.v1.client_service_pb2_grpc import ClientRecordsStub
from atrium.scheduling.v1 import (
    appointments_pb2_grpc,
    calendar_pb2_grpc,
    catalogue_pb2_grpc,
    holds_pb2_grpc,
    reports_pb2_grpc,
    series_pb2_grpc,
)
from platform_core.messaging.consumer import EventConsumer
from platform_core.service import Runtime, ServiceParts
from scheduling_svc.adapters.catalogue_cache import CatalogueCache
from scheduling_svc.adapters.client_directory import GrpcClientDirectory
from scheduling_svc.adapters.client_facts import ProjectedClientDirectory
from scheduling_svc.config import SchedulingServiceSettings
from scheduling_svc.domain.series import Horizon
from scheduling_svc.entrypoints import (
    appointment_server,
    business_consumers,
    calendar_server,
    catalogue_server,
    client_consumers,
    hold_server,
    report_server,
    series_server,
)
from scheduling_svc.entrypoints.series_extender import SeriesExtender
from scheduling_svc.service_layer.unit_of_work import SqlAlchemySchedulingUnitOfWork


def build(runtime: Runtime) -> ServiceParts:
    settings = runtime.settings
    assert isinstance(settings, SchedulingServiceSettings)

    # Settings, services, staff hours, exceptions and resources in memory, under each business's catalogue
    # version (read by every request, so a change made through any replica is seen at once).
    catalogue_cache = CatalogueCache()
    # Booking reads clients from scheduling's own copy (kept by the client consumer below), asking the client
    # service only about a client the copy does not know yet.
    directory = ProjectedClientDirectory(
        runtime.read_engine, GrpcClientDirectory(ClientRecordsStub(runtime.channel("client")))
    )

    def uow() -> SqlAlchemySchedulingUnitOfWork:
        return SqlAlchemySchedulingUnitOfWork(
            runtime.sessions,
            nats_prefix=settings.nats_prefix,
            client_directory=directory,
            catalogue_cache=catalogue_cache,
        )

    horizon = Horizon(days=settings.series_horizon_days, batch=settings.series_batch_size)
    extender = SeriesExtender(uow, horizon, interval_seconds=settings.series_extend_interval_seconds)
    return ServiceParts(
        servicers=[
            (
                catalogue_pb2_grpc.add_CatalogueServiceServicer_to_server,
                catalogue_server.CatalogueServicer(uow_factory=uow),
                catalogue_server.SERVICE_NAME,
            ),
            (
                appointments_pb2_grpc.add_AppointmentServiceServicer_to_server,
                appointment_server.AppointmentServicer(uow_factory=uow, engine=runtime.read_engine),
                appointment_server.SERVICE_NAME,
            ),
            (
                calendar_pb2_grpc.add_CalendarServiceServicer_to_server,
                calendar_server.CalendarServicer(uow_factory=uow, engine=runtime.read_engine),
                calendar_server.SERVICE_NAME,
            ),
            (
                holds_pb2_grpc.add_SlotHoldServiceServicer_to_server,
                hold_server.SlotHoldServicer(uow_factory=uow, engine=runtime.read_engine),
                hold_server.SERVICE_NAME,
            ),
            (
                reports_pb2_grpc.add_ReportServiceServicer_to_server,
                report_server.ReportServicer(uow_factory=uow),
                report_server.SERVICE_NAME,
            ),
            (
                series_pb2_grpc.add_RecurringSeriesServiceServicer_to_server,
                series_server.RecurringSeriesServicer(uow_factory=uow, engine=runtime.read_engine, horizon=horizon),
                series_server.SERVICE_NAME,
            ),
        ],
        # Keeps every series booked up to the horizon; safe with several replicas (SKIP LOCKED per series).
        # Client merges re-point appointments (and unmerges return them); erasures drop personal text; client
        # events keep booking's copy of client facts.
        consumers=[
            EventConsumer(
                name="scheduling",
                js=runtime.js,
                prefix=settings.nats_prefix,
                sessions=runtime.sessions,
                subscriptions=client_consumers.client_subscriptions(),
                max_deliver=settings.consumer_max_deliver,
            ),
            # The business profile's zone (the gateway's stream) is scheduling's zone.
            EventConsumer(
                name="scheduling",
                js=runtime.js,
                prefix=settings.nats_prefix,
                sessions=runtime.sessions,
                subscriptions=business_consumers.business_subscriptions(),
                max_deliver=settings.consumer_max_deliver,
            ),
        ],
        workers=[extender],
    )
