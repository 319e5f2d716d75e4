"""Every use case's input, one command each (``service_layer`` has the handler of the same name in snake case).

Entrypoints build them: the consumers from integration events (``now`` from the clock at the moment the event
is handled), the gRPC servicer from a caller's request (the caller's tenant, and the acting staff member where
one is recorded).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from notification_svc.domain.account_notices import AddressedNotice
from notification_svc.domain.appointment_notices import AppointmentStep
from notification_svc.domain.audience import BusinessProfile, ClientContact, StaffMember
from notification_svc.domain.campaigns import Segment
from notification_svc.domain.delivery import RetryPolicy, Status
from notification_svc.domain.membership_expiry import MembershipExpiryRule, SubscriptionFacts
from notification_svc.domain.merges import Source
from notification_svc.domain.payment_notices import BillingStep, InvoiceFacts, PaymentRule
from notification_svc.domain.preferences import Preference, UnsubscribeLink
from notification_svc.domain.reminders import ReminderRule
from notification_svc.domain.request_notices import RequestStep

# The timeline (service_layer/handlers.py).


@dataclass(frozen=True)
class RecordActivity:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    kind: str
    summary: str
    occurred_at: datetime
    source_event_id: uuid.UUID
    source_event_type: str


@dataclass(frozen=True)
class RecordActivities:
    """Several events' entries of one business (a run of events handled at once)."""

    tenant_id: uuid.UUID
    entries: tuple[RecordActivity, ...]


@dataclass(frozen=True)
class FollowMerge:
    tenant_id: uuid.UUID
    merge_id: uuid.UUID
    survivor_id: uuid.UUID
    merged_ids: tuple[uuid.UUID, ...]
    source: Source


@dataclass(frozen=True)
class FollowUnmerge:
    tenant_id: uuid.UUID
    merge_id: uuid.UUID
    survivor_id: uuid.UUID
    restored_ids: tuple[uuid.UUID, ...]
    source: Source


@dataclass(frozen=True)
class ForgetClient:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    source: Source


@dataclass(frozen=True)
class SendPortalInvitation:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    email: str
    accept_url: str
    expires_at: datetime
    business_name: str
    client_first_name: str
    client_last_name: str
    source_event_id: uuid.UUID


# Campaigns (service_layer/campaign_handlers.py).


@dataclass(frozen=True)
class CreateCampaign:
    tenant_id: uuid.UUID
    created_by: str  # the staff member who wrote it
    name: str
    channel: str
    segment: Segment
    source: str
    rate_per_minute: int
    now: datetime


@dataclass(frozen=True)
class PreviewCampaignAudience:
    tenant_id: uuid.UUID
    segment: Segment
    channel: str


@dataclass(frozen=True)
class SendCampaign:
    tenant_id: uuid.UUID
    campaign_id: uuid.UUID
    segment: Segment
    channel: str
    rate_per_minute: int
    now: datetime
    max_attempts: int


# Rules of reminders, payment reminders and membership expiry (service_layer/rule_handlers.py).


@dataclass(frozen=True)
class ListReminderRules:
    tenant_id: uuid.UUID


@dataclass(frozen=True)
class SetReminderRule:
    tenant_id: uuid.UUID
    rule: ReminderRule
    now: datetime


@dataclass(frozen=True)
class DeleteReminderRule:
    tenant_id: uuid.UUID
    service_id: uuid.UUID | None  # None: the business's own rule


@dataclass(frozen=True)
class GetPaymentRule:
    tenant_id: uuid.UUID


@dataclass(frozen=True)
class SetPaymentRule:
    tenant_id: uuid.UUID
    rule: PaymentRule
    now: datetime


@dataclass(frozen=True)
class DeletePaymentRule:
    tenant_id: uuid.UUID


@dataclass(frozen=True)
class GetExpiryRule:
    tenant_id: uuid.UUID


@dataclass(frozen=True)
class SetExpiryRule:
    tenant_id: uuid.UUID
    rule: MembershipExpiryRule
    now: datetime


@dataclass(frozen=True)
class DeleteExpiryRule:
    tenant_id: uuid.UUID


# A client's notification preferences (service_layer/preference_handlers.py).


@dataclass(frozen=True)
class GetPreferences:
    tenant_id: uuid.UUID
    client_id: uuid.UUID


@dataclass(frozen=True)
class ChoosePreferences:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    choices: tuple[Preference, ...]
    now: datetime
    preferred_channel: str = ""  # "": unchanged


@dataclass(frozen=True)
class Unsubscribe:
    tenant_id: uuid.UUID
    link: UnsubscribeLink
    now: datetime


# A business's own wording of messages (service_layer/template_handlers.py).


@dataclass(frozen=True)
class ListMessageTemplates:
    tenant_id: uuid.UUID


@dataclass(frozen=True)
class SaveTemplate:
    tenant_id: uuid.UUID
    kind: str
    language: str
    source: str
    now: datetime


@dataclass(frozen=True)
class PreviewTemplate:
    tenant_id: uuid.UUID
    kind: str
    language: str
    source: str  # "": what the business saved, else the default


@dataclass(frozen=True)
class ResetTemplate:
    tenant_id: uuid.UUID
    kind: str
    language: str


# Messages already planned (service_layer/message_handlers.py).


@dataclass(frozen=True)
class ResendMessage:
    tenant_id: uuid.UUID
    message_id: uuid.UUID
    now: datetime


@dataclass(frozen=True)
class MarkNotificationsRead:
    tenant_id: uuid.UUID
    audience: str  # "client" or "staff": whose inbox
    recipient_id: uuid.UUID
    notification_id: uuid.UUID | None  # None: every unread one
    now: datetime


@dataclass(frozen=True)
class RecordProviderReport:
    tenant_id: uuid.UUID
    provider_id: str
    status: Status
    error: str
    now: datetime


# Messages planned from other services' events (service_layer/notice_handlers.py); ``now`` is when the event
# is handled.


@dataclass(frozen=True)
class PlanRequestNotices:
    step: RequestStep  # its tenant, client and event
    now: datetime
    max_attempts: int


@dataclass(frozen=True)
class PlanAddressedNotices:
    tenant_id: uuid.UUID
    notices: tuple[AddressedNotice, ...]
    now: datetime
    max_attempts: int


@dataclass(frozen=True)
class PlanAppointmentNotices:
    step: AppointmentStep  # its tenant, appointment and event
    now: datetime
    max_attempts: int


@dataclass(frozen=True)
class PlanBillingNotices:
    step: BillingStep  # its tenant, client and event
    now: datetime
    # An issued invoice's facts, kept for its payment reminders (planned again if a refund reopens it).
    invoice: InvoiceFacts | None = None


@dataclass(frozen=True)
class SettleInvoice:
    tenant_id: uuid.UUID
    invoice_id: uuid.UUID
    state: str  # "paid" or "voided"
    now: datetime


@dataclass(frozen=True)
class ReopenInvoices:
    tenant_id: uuid.UUID
    refund_event_id: uuid.UUID
    reversed_minor: Mapping[uuid.UUID, int]  # invoice -> what the refund took back, in minor units
    occurred_at: datetime
    now: datetime


@dataclass(frozen=True)
class PlanMembershipNotices:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    source_event_id: uuid.UUID
    occurred_at: datetime
    facts: SubscriptionFacts | None  # None: a membership without an end
    notice: BillingStep | None  # None: a fact with nothing to tell (e.g. resumed)
    now: datetime


# The local copies of who messages go to (service_layer/directory_handlers.py), newest fact by event time.


@dataclass(frozen=True)
class KeepClientContacts:
    """Contacts of one business, each as of its event's time (several events' at once)."""

    tenant_id: uuid.UUID
    contacts: tuple[tuple[ClientContact, datetime], ...]


@dataclass(frozen=True)
class ForgetClientContact:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    occurred_at: datetime


@dataclass(frozen=True)
class KeepStaffMember:
    tenant_id: uuid.UUID
    member: StaffMember
    occurred_at: datetime


@dataclass(frozen=True)
class KeepBusinessProfile:
    tenant_id: uuid.UUID
    profile: BusinessProfile
    occurred_at: datetime


# Delivery (service_layer/delivery_handlers.py): every replica's worker sends it over and over; the time is the
# unit of work's clock, read at each step of a batch.


@dataclass(frozen=True)
class DispatchDueMessages:
    retry_policy: RetryPolicy
    batch_size: int = 200
    # How long a replica holds what it leased before another may take it up.
    lease: timedelta = timedelta(minutes=2)
    # Messages handed to providers at once.
    concurrency: int = 16
    # Where the gateway answers, for unsubscribe links and the SMS provider's delivery reports.
    public_url: str = "http://127.0.0.1:8080"
