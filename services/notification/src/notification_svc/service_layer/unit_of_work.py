from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from atrium.common.v1.events_pb2 import EventEnvelope
from notification_svc.adapters.activity_repository import AbstractActivityRepository, SqlAlchemyActivityRepository
from notification_svc.adapters.campaign_store import AbstractCampaignStore, SqlAlchemyCampaignStore
from notification_svc.adapters.email_repository import AbstractSentEmailRepository, SqlAlchemySentEmailRepository
from notification_svc.adapters.membership_store import AbstractMembershipStore, SqlAlchemyMembershipStore
from notification_svc.adapters.message_store import AbstractMessageStore, SqlAlchemyMessageStore
from notification_svc.adapters.payment_store import AbstractPaymentStore, SqlAlchemyPaymentStore
from notification_svc.adapters.preference_store import AbstractPreferenceStore, SqlAlchemyPreferenceStore
from notification_svc.adapters.recipient_directory import AbstractRecipientDirectory, SqlAlchemyRecipientDirectory
from notification_svc.adapters.reminder_store import AbstractReminderStore, SqlAlchemyReminderStore
from notification_svc.adapters.template_store import AbstractTemplateStore, SqlAlchemyTemplateStore
from notification_svc.adapters.timeline_repository import AbstractTimelineRepository, SqlAlchemyTimelineRepository
from platform_core.unit_of_work import AbstractUnitOfWork, SqlAlchemyUnitOfWork


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


def _no_integration_events(event: Any) -> EventEnvelope:
    raise TypeError(f"the notification service publishes no {type(event).__name__}")


class SqlAlchemyNotificationUnitOfWork(SqlAlchemyUnitOfWork, NotificationUnitOfWork):
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession] | None,
        *,
        nats_prefix: str,
        borrowed: AsyncSession | None = None,
    ) -> None:
        super().__init__(sessions, nats_prefix=nats_prefix, to_envelope=_no_integration_events, borrowed=borrowed)

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
