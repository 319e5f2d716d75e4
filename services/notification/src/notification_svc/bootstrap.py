"""Composition root of the notification service."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from atrium.notification.v1 import notification_service_pb2_grpc
from notification_svc.adapters import orm
from notification_svc.entrypoints.consumers import client_subscriptions
from notification_svc.entrypoints.grpc_server import SERVICE_NAME, NotificationServicer
from notification_svc.entrypoints.merge_consumers import merge_subscriptions
from notification_svc.service_layer.unit_of_work import SqlAlchemyNotificationUnitOfWork
from platform_core.messaging.consumer import EventConsumer
from platform_core.service import Runtime, ServiceParts

UNIT = "notification"


def build(runtime: Runtime) -> ServiceParts:
    orm.start_mappers()
    settings = runtime.settings

    def uow_within(session: AsyncSession) -> SqlAlchemyNotificationUnitOfWork:
        return SqlAlchemyNotificationUnitOfWork(None, nats_prefix=settings.nats_prefix, borrowed=session)

    consumer = EventConsumer(
        name=UNIT,
        js=runtime.js,
        prefix=settings.nats_prefix,
        sessions=runtime.sessions,
        subscriptions=client_subscriptions(uow_within) + merge_subscriptions(uow_within),
        max_deliver=settings.consumer_max_deliver,
    )
    servicer = NotificationServicer(engine=runtime.read_engine)
    return ServiceParts(
        servicers=[(notification_service_pb2_grpc.add_NotificationServiceServicer_to_server, servicer, SERVICE_NAME)],
        consumers=[consumer],
        publishes_events=False,
    )
