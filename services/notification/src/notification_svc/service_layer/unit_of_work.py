"""The notification unit of work: this service's stores on one transaction, and the ports its handlers reach
beyond its database (other services, senders, template engines, the clock), given once by bootstrap."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from atrium.common.v1.events_pb2 import EventEnvelope
from notification_svc.adapters.activity_repository import AbstractActivityRepository, SqlAlchemyActivityRepository
from notification_svc.adapters.calendar_files import CalendarFiles
from notification_svc.adapters.campaign_store import AbstractCampaignStore, SqlAlchemyCampaignStore
from notification_svc.adapters.client_directory import AbstractClientDirectory, UnreachableClientDirectory
from notification_svc.adapters.delivery_metrics import DeliveryMetrics
from notification_svc.adapters.email_repository import AbstractSentEmailRepository, SqlAlchemySentEmailRepository
from notification_svc.adapters.email_sender import AbstractEmailSender, LogEmailSender
from notification_svc.adapters.email_templates import EmailTemplates
from notification_svc.adapters.invoice_documents import AbstractInvoiceDocuments
from notification_svc.adapters.membership_store import AbstractMembershipStore, SqlAlchemyMembershipStore
from notification_svc.adapters.message_store import AbstractMessageStore, SqlAlchemyMessageStore
from notification_svc.adapters.message_templates import MessageTemplates
from notification_svc.adapters.payment_store import AbstractPaymentStore, SqlAlchemyPaymentStore
from notification_svc.adapters.preference_store import AbstractPreferenceStore, SqlAlchemyPreferenceStore
from notification_svc.adapters.recipient_directory import AbstractRecipientDirectory, SqlAlchemyRecipientDirectory
from notification_svc.adapters.reminder_store import AbstractReminderStore, SqlAlchemyReminderStore
from notification_svc.adapters.sms_sender import AbstractSmsSender, LogSmsSender
from notification_svc.adapters.template_store import AbstractTemplateStore, SqlAlchemyTemplateStore
from notification_svc.adapters.timeline_repository import AbstractTimelineRepository, SqlAlchemyTimelineRepository
from platform_core.unit_of_work import AbstractUnitOfWork, SqlAlchemyUnitOfWork

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The service's one clock (tests give their own)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class NotificationPorts:
    """What the handlers reach beyond the database. A port left out is one this process does not use: the
    defaults log instead of sending, and the client service answers as unreachable."""

    clock: Clock = utc_now
    email_templates: EmailTemplates = field(default_factory=EmailTemplates)
    message_templates: MessageTemplates = field(default_factory=MessageTemplates)
    email_sender: AbstractEmailSender = field(default_factory=lambda: LogEmailSender("no-reply@atrium.localhost"))
    sms_sender: AbstractSmsSender = field(default_factory=LogSmsSender)
    client_directory: AbstractClientDirectory = field(default_factory=UnreachableClientDirectory)
    # Billing's invoice PDFs; without it an invoice's email goes without the PDF and says so.
    invoice_documents: AbstractInvoiceDocuments | None = None
    delivery_metrics: DeliveryMetrics = field(default_factory=DeliveryMetrics)
    calendar_files: CalendarFiles = field(default_factory=CalendarFiles)


class NotificationUnitOfWork(AbstractUnitOfWork):
    activity: AbstractActivityRepository
    emails: AbstractSentEmailRepository
    timeline: AbstractTimelineRepository
    messages: AbstractMessageStore
    directory: AbstractRecipientDirectory
    reminders: AbstractReminderStore
    preferences: AbstractPreferenceStore
    templates: AbstractTemplateStore
    campaigns: AbstractCampaignStore
    payments: AbstractPaymentStore
    memberships: AbstractMembershipStore
    # Ports (the same for every transaction of the unit).
    clock: Clock
    email_templates: EmailTemplates
    message_templates: MessageTemplates
    email_sender: AbstractEmailSender
    sms_sender: AbstractSmsSender
    client_directory: AbstractClientDirectory
    invoice_documents: AbstractInvoiceDocuments | None
    delivery_metrics: DeliveryMetrics
    calendar_files: CalendarFiles

    def _connect(self, ports: NotificationPorts) -> None:
        self.clock = ports.clock
        self.email_templates = ports.email_templates
        self.message_templates = ports.message_templates
        self.email_sender = ports.email_sender
        self.sms_sender = ports.sms_sender
        self.client_directory = ports.client_directory
        self.invoice_documents = ports.invoice_documents
        self.delivery_metrics = ports.delivery_metrics
        self.calendar_files = ports.calendar_files


def _no_integration_events(event: Any) -> EventEnvelope:
    raise TypeError(f"the notification service publishes no {type(event).__name__}")


class SqlAlchemyNotificationUnitOfWork(SqlAlchemyUnitOfWork, NotificationUnitOfWork):
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession] | None,
        *,
        nats_prefix: str,
        borrowed: AsyncSession | None = None,
        ports: NotificationPorts | None = None,
    ) -> None:
        super().__init__(sessions, nats_prefix=nats_prefix, to_envelope=_no_integration_events, borrowed=borrowed)
        self._connect(ports or NotificationPorts())

    def _attach(self, session: AsyncSession) -> None:
        self.activity = SqlAlchemyActivityRepository(session)
        self.emails = SqlAlchemySentEmailRepository(session)
        self.timeline = SqlAlchemyTimelineRepository(session)
        self.messages = SqlAlchemyMessageStore(session)
        self.directory = SqlAlchemyRecipientDirectory(session)
        self.reminders = SqlAlchemyReminderStore(session)
        self.preferences = SqlAlchemyPreferenceStore(session)
        self.templates = SqlAlchemyTemplateStore(session)
        self.campaigns = SqlAlchemyCampaignStore(session)
        self.payments = SqlAlchemyPaymentStore(session)
        self.memberships = SqlAlchemyMembershipStore(session)
        self.repositories = (self.activity,)
