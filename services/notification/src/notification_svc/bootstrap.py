"""Composition root of the notification service."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from atrium.client.v1.client_service_pb2_grpc import ClientRecordsStub
from atrium.membership_billing.v1.documents_pb2_grpc import DocumentServiceStub
from atrium.notification.v1 import notification_service_pb2_grpc
from notification_svc.adapters import tables
from notification_svc.adapters.client_directory import GrpcClientDirectory
from notification_svc.adapters.email_sender import AbstractEmailSender, LogEmailSender, SmtpEmailSender
from notification_svc.adapters.email_templates import EmailTemplates
from notification_svc.adapters.invoice_documents import GrpcInvoiceDocuments
from notification_svc.adapters.message_templates import MessageTemplates
from notification_svc.adapters.sms_sender import AbstractSmsSender, LogSmsSender, TwilioSmsSender
from notification_svc.config import NotificationSettings
from notification_svc.domain.commands import DispatchDueMessages
from notification_svc.domain.delivery import RetryPolicy
from notification_svc.entrypoints.consumers import (
    BILLING_TIMELINE,
    CLIENT_TIMELINE,
    REQUEST_TIMELINE,
    SCHEDULING_TIMELINE,
    email_subscriptions,
    timeline_subscriptions,
)
from notification_svc.entrypoints.dispatch_worker import DispatchWorker
from notification_svc.entrypoints.grpc_server import SERVICE_NAME, NotificationServicer
from notification_svc.entrypoints.merge_consumers import merge_subscriptions
from notification_svc.entrypoints.notice_consumers import (
    account_email_subscriptions,
    appointment_subscriptions,
    billing_subscriptions,
    business_subscriptions,
    contact_subscriptions,
    membership_subscriptions,
    request_notice_subscriptions,
)
from notification_svc.service_layer.unit_of_work import (
    NotificationPorts,
    SqlAlchemyNotificationUnitOfWork,
    utc_now,
)
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


def sms_sender(settings: NotificationSettings) -> AbstractSmsSender:
    if settings.sms_provider == "log" or settings.twilio_auth_token is None:
        return LogSmsSender()
    return TwilioSmsSender(
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token.get_secret_value(),
        sender=settings.twilio_from,
        api_base=settings.twilio_api_base,
    )


def ports(runtime: Runtime, settings: NotificationSettings) -> NotificationPorts:
    """One of each per process, shared by every unit of work."""
    return NotificationPorts(
        clock=utc_now,
        email_templates=EmailTemplates(),
        message_templates=MessageTemplates(),
        email_sender=email_sender(settings),
        sms_sender=sms_sender(settings),
        client_directory=GrpcClientDirectory(ClientRecordsStub(runtime.channel("client"))),
        invoice_documents=GrpcInvoiceDocuments(DocumentServiceStub(runtime.channel("membership_billing"))),
    )


def dispatch_due_messages(settings: NotificationSettings) -> DispatchDueMessages:
    return DispatchDueMessages(
        retry_policy=RetryPolicy(base=timedelta(seconds=settings.message_retry_base_seconds)),
        batch_size=settings.message_batch_size,
        lease=timedelta(seconds=settings.message_lease_seconds),
        concurrency=settings.message_send_concurrency,
        public_url=settings.public_url,
    )


def build(runtime: Runtime) -> ServiceParts:
    tables.start_mappers()
    settings = runtime.settings
    assert isinstance(settings, NotificationSettings)
    connected = ports(runtime, settings)

    def uow_within(session: AsyncSession) -> SqlAlchemyNotificationUnitOfWork:
        return SqlAlchemyNotificationUnitOfWork(
            None, nats_prefix=settings.nats_prefix, borrowed=session, ports=connected
        )

    def consumer(name: str, subscriptions: list[Subscription]) -> EventConsumer:
        # One durable consumer per (purpose, producing service's stream).
        return EventConsumer(
            name=name,
            js=runtime.js,
            prefix=settings.nats_prefix,
            sessions=runtime.sessions,
            subscriptions=subscriptions,
            max_deliver=settings.consumer_max_deliver,
        )

    def timeline(subscriptions: list[Subscription]) -> EventConsumer:
        return consumer(UNIT, subscriptions)  # all writing the one timeline

    timelines = [
        timeline(timeline_subscriptions(uow_within, CLIENT_TIMELINE) + merge_subscriptions(uow_within)),
        *(
            timeline(timeline_subscriptions(uow_within, events))
            for events in (SCHEDULING_TIMELINE, REQUEST_TIMELINE, BILLING_TIMELINE)
        ),
    ]
    # Messages: the facts they need (contacts from the client service; staff and the business from the
    # gateway), and the events that plan them.
    directory = [
        consumer(f"{UNIT}-contacts", contact_subscriptions(uow_within)),
        consumer(f"{UNIT}-directory", business_subscriptions(uow_within)),
    ]
    notices = consumer(
        f"{UNIT}-notices",
        request_notice_subscriptions(uow_within, utc_now, max_attempts=settings.message_max_attempts),
    )
    appointments = consumer(
        f"{UNIT}-appointments",
        appointment_subscriptions(uow_within, utc_now, max_attempts=settings.message_max_attempts),
    )
    account_emails = consumer(
        f"{UNIT}-account-emails",
        account_email_subscriptions(uow_within, utc_now, max_attempts=settings.message_max_attempts),
    )
    billing = consumer(f"{UNIT}-billing-notices", billing_subscriptions(uow_within, utc_now))
    memberships = consumer(
        f"{UNIT}-membership-notices",
        membership_subscriptions(
            uow_within,
            utc_now,
            low_balance=settings.low_credit_balance,
            low_balance_minor=settings.low_credit_balance_minor,
        ),
    )
    mailer = EventConsumer(
        name=f"{UNIT}-email",
        js=runtime.js,
        prefix=settings.nats_prefix,
        sessions=runtime.sessions,
        subscriptions=email_subscriptions(uow_within),
        max_deliver=settings.consumer_max_deliver,
        fetch_batch=1,
    )
    servicer = NotificationServicer(
        engine=runtime.read_engine,
        sms_auth_token=settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else "",
        uow_factory=lambda: SqlAlchemyNotificationUnitOfWork(
            runtime.sessions, nats_prefix=settings.nats_prefix, ports=connected
        ),
        clock=utc_now,
        max_attempts=settings.message_max_attempts,
    )
    return ServiceParts(
        servicers=[(notification_service_pb2_grpc.add_NotificationServiceServicer_to_server, servicer, SERVICE_NAME)],
        consumers=[*timelines, mailer, *directory, notices, appointments, account_emails, billing, memberships],
        publishes_events=False,
        workers=[
            DispatchWorker(
                SqlAlchemyNotificationUnitOfWork(runtime.sessions, nats_prefix=settings.nats_prefix, ports=connected),
                dispatch_due_messages(settings),
                interval_seconds=settings.message_dispatch_interval_seconds,
            )
        ],
    )
