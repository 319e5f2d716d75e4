"""Composition root of the notification service."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from atrium.notification.v1 import notification_service_pb2_grpc
from notification_svc.adapters import orm
from notification_svc.adapters.email_sender import AbstractEmailSender, LogEmailSender, SmtpEmailSender
from notification_svc.adapters.email_templates import EmailTemplates
from notification_svc.config import NotificationSettings
from notification_svc.entrypoints.consumers import client_subscriptions, email_subscriptions, request_subscriptions
from notification_svc.entrypoints.grpc_server import SERVICE_NAME, NotificationServicer
from notification_svc.entrypoints.merge_consumers import merge_subscriptions
from notification_svc.service_layer.unit_of_work import SqlAlchemyNotificationUnitOfWork
from platform_core.messaging.consumer import EventConsumer
from platform_core.service import Runtime, ServiceParts

UNIT = "notification"


def email_sender(settings: NotificationSettings) -> AbstractEmailSender:
    if not settings.smtp_host:
        return LogEmailSender(settings.smtp_from)
    password = settings.smtp_password
    return SmtpEmailSender(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.smtp_from,
        username=settings.smtp_username,
        password=password.get_secret_value() if password else "",
        starttls=settings.smtp_starttls,
        tls=settings.smtp_tls,
        timeout=settings.smtp_timeout_seconds,
    )


def build(runtime: Runtime) -> ServiceParts:
    orm.start_mappers()
    settings = runtime.settings

    def uow_within(session: AsyncSession) -> SqlAlchemyNotificationUnitOfWork:
        return SqlAlchemyNotificationUnitOfWork(None, nats_prefix=settings.nats_prefix, borrowed=session)

    assert isinstance(settings, NotificationSettings)
    consumer = EventConsumer(
        name=UNIT,
        js=runtime.js,
        prefix=settings.nats_prefix,
        sessions=runtime.sessions,
        subscriptions=client_subscriptions(uow_within) + merge_subscriptions(uow_within),
        max_deliver=settings.consumer_max_deliver,
    )
    # One consumer reads one producer's stream: appointment requests come from portal-requests.
    requests = EventConsumer(
        name=UNIT,
        js=runtime.js,
        prefix=settings.nats_prefix,
        sessions=runtime.sessions,
        subscriptions=request_subscriptions(uow_within),
        max_deliver=settings.consumer_max_deliver,
    )
    mailer = EventConsumer(
        name=f"{UNIT}-email",
        js=runtime.js,
        prefix=settings.nats_prefix,
        sessions=runtime.sessions,
        subscriptions=email_subscriptions(uow_within, EmailTemplates(), email_sender(settings)),
        max_deliver=settings.consumer_max_deliver,
        fetch_batch=1,
    )
    servicer = NotificationServicer(engine=runtime.read_engine)
    return ServiceParts(
        servicers=[(notification_service_pb2_grpc.add_NotificationServiceServicer_to_server, servicer, SERVICE_NAME)],
        consumers=[consumer, requests, mailer],
        publishes_events=False,
    )
