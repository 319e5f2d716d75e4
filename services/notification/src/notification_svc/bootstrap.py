"""Composition root of the notification service."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from atrium.notification.v1 import notification_service_pb2_grpc
from notification_svc.adapters import orm
from notification_svc.adapters.email_sender import AbstractEmailSender, LogEmailSender, SmtpEmailSender
from notification_svc.adapters.email_templates import EmailTemplates
from notification_svc.config import NotificationSettings
from notification_svc.entrypoints.consumers import (
    BILLING_TIMELINE,
    CLIENT_TIMELINE,
    REQUEST_TIMELINE,
    SCHEDULING_TIMELINE,
    email_subscriptions,
    timeline_subscriptions,
)
from notification_svc.entrypoints.grpc_server import SERVICE_NAME, NotificationServicer
from notification_svc.entrypoints.merge_consumers import merge_subscriptions
from notification_svc.service_layer.unit_of_work import SqlAlchemyNotificationUnitOfWork
from platform_core.messaging.consumer import EventConsumer, Subscription
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

    def timeline(subscriptions: list[Subscription]) -> EventConsumer:
        # One durable consumer per producing service's stream, all writing the one timeline.
        return EventConsumer(
            name=UNIT,
            js=runtime.js,
            prefix=settings.nats_prefix,
            sessions=runtime.sessions,
            subscriptions=subscriptions,
            max_deliver=settings.consumer_max_deliver,
        )

    timelines = [
        timeline(timeline_subscriptions(uow_within, CLIENT_TIMELINE) + merge_subscriptions(uow_within)),
        *(
            timeline(timeline_subscriptions(uow_within, events))
            for events in (SCHEDULING_TIMELINE, REQUEST_TIMELINE, BILLING_TIMELINE)
        ),
    ]
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
        consumers=[*timelines, mailer],
        publishes_events=False,
    )
