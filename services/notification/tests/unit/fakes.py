"""In-memory fakes of the notification unit of work and its ports, for the handlers' unit tests (no database,
no broker, no other service)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from notification_svc.adapters.activity_repository import AbstractActivityRepository
from notification_svc.adapters.campaign_store import AbstractCampaignStore
from notification_svc.adapters.client_directory import AbstractClientDirectory
from notification_svc.adapters.email_repository import AbstractSentEmailRepository
from notification_svc.adapters.email_sender import AbstractEmailSender
from notification_svc.adapters.membership_store import AbstractMembershipStore
from notification_svc.adapters.message_store import AbstractMessageStore
from notification_svc.adapters.payment_store import AbstractPaymentStore
from notification_svc.adapters.preference_store import AbstractPreferenceStore
from notification_svc.adapters.recipient_directory import AbstractRecipientDirectory
from notification_svc.adapters.reminder_store import AbstractReminderStore, KnownAppointment
from notification_svc.adapters.sms_sender import AbstractSmsSender
from notification_svc.adapters.template_store import AbstractTemplateStore
from notification_svc.adapters.timeline_repository import AbstractTimelineRepository
from notification_svc.domain.audience import BusinessProfile, ClientContact, StaffMember
from notification_svc.domain.campaigns import CampaignDraft, Member, Segment
from notification_svc.domain.delivery import ClaimedMessage, Outcome, PlannedMessage, Status
from notification_svc.domain.emails import OutgoingEmail, SentEmail
from notification_svc.domain.membership_expiry import MembershipExpiryRule, SubscriptionFacts
from notification_svc.domain.merges import EntryMove, OpenMerge, Placement
from notification_svc.domain.model import ActivityEntry
from notification_svc.domain.payment_notices import InvoiceFacts, PaymentRule
from notification_svc.domain.preferences import Preference, UnsubscribeLink
from notification_svc.domain.reminders import ReminderRule
from notification_svc.service_layer.unit_of_work import NotificationPorts, NotificationUnitOfWork

NOW = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class FakeActivityRepository(AbstractActivityRepository):
    def __init__(self) -> None:
        super().__init__()
        self.entries: list[ActivityEntry] = []

    def _add(self, entry: ActivityEntry) -> None:
        self.entries.append(entry)


class FakeTimeline(AbstractTimelineRepository):
    def __init__(self, activity: FakeActivityRepository) -> None:
        self.activity = activity
        self.merges: dict[tuple[uuid.UUID, uuid.UUID], OpenMerge] = {}  # (merge, merged client) -> merge
        self.unmerged: set[uuid.UUID] = set()
        self.moves: list[EntryMove] = []
        self.erased: set[uuid.UUID] = set()

    def _open(self, client_id: uuid.UUID) -> OpenMerge | None:
        return next(
            (m for m in self.merges.values() if m.merged_client_id == client_id and m.merge_id not in self.unmerged),
            None,
        )

    async def placements(self, tenant_id: uuid.UUID, client_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Placement]:
        found = {}
        for client_id in client_ids:
            hops: list[OpenMerge] = []
            current = client_id
            while (hop := self._open(current)) is not None:
                hops.append(hop)
                current = hop.survivor_id
            found[client_id] = Placement(client_id, tuple(hops), bool({client_id, current} & self.erased))
        return found

    async def remember_moves(self, tenant_id: uuid.UUID, moves: Sequence[EntryMove]) -> None:
        self.moves += moves

    async def open_merge(
        self,
        tenant_id: uuid.UUID,
        merge_id: uuid.UUID,
        survivor_id: uuid.UUID,
        merged: Sequence[uuid.UUID],
        at: datetime,
    ) -> None:
        for client_id in merged:
            self.merges[(merge_id, client_id)] = OpenMerge(merge_id, client_id, survivor_id)

    async def move_entries(
        self, tenant_id: uuid.UUID, merge_id: uuid.UUID, survivor_id: uuid.UUID, merged: Sequence[uuid.UUID]
    ) -> int:
        moved = [e for e in self.activity.entries if e.client_id in merged]
        for entry in moved:
            self.moves.append(EntryMove(merge_id, entry.id, entry.client_id))
            entry.client_id = survivor_id
        return len(moved)

    async def close_merge(self, tenant_id: uuid.UUID, merge_id: uuid.UUID, at: datetime) -> bool | None:
        if not any(key[0] == merge_id for key in self.merges):
            return None
        if merge_id in self.unmerged:
            return False
        self.unmerged.add(merge_id)
        return True

    async def return_entries(self, tenant_id: uuid.UUID, merge_id: uuid.UUID) -> int:
        done = [m for m in self.moves if m.merge_id == merge_id]
        self.moves = [m for m in self.moves if m.merge_id != merge_id]
        by_id = {e.id: e for e in self.activity.entries}
        for move in done:
            by_id[move.entry_id].client_id = move.original_client_id
        return len(done)

    async def mark_erased(self, tenant_id: uuid.UUID, client_id: uuid.UUID, at: datetime) -> None:
        self.erased.add(client_id)

    async def entries_of(self, tenant_id: uuid.UUID, client_id: uuid.UUID) -> list[ActivityEntry]:
        return [e for e in self.activity.entries if e.client_id == client_id]


class FakeSentEmails(AbstractSentEmailRepository):
    """Claims of this transaction stay pending until it commits."""

    def __init__(self) -> None:
        self.committed: dict[uuid.UUID, SentEmail] = {}
        self.pending: dict[uuid.UUID, SentEmail] = {}

    async def claim(self, email: SentEmail) -> bool:
        if email.source_event_id in self.committed or email.source_event_id in self.pending:
            return False
        self.pending[email.source_event_id] = email
        return True


class FakeEmailSender(AbstractEmailSender):
    transport = "smtp"

    def __init__(self, fail: bool = False) -> None:
        self.sent: list[OutgoingEmail] = []
        self.fail = fail

    async def send(self, email: OutgoingEmail) -> None:
        if self.fail:
            raise ConnectionError("the mail server is down")
        self.sent.append(email)


class FakeSmsSender(AbstractSmsSender):
    transport = "sms"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    async def send(self, to: str, body: str, status_callback: str) -> str:
        self.sent.append((to, body, status_callback))
        return f"SM{len(self.sent)}"


class FakeClientDirectory(AbstractClientDirectory):
    """The client service's answer for every segment: the members given."""

    def __init__(self, members: Sequence[Member] = ()) -> None:
        self.members_ = list(members)
        self.asked: list[Segment] = []

    async def members(self, segment: Segment) -> list[Member]:
        self.asked.append(segment)
        return self.members_


@dataclasses.dataclass
class StoredMessage:
    planned: PlannedMessage
    status: Status = Status.PLANNED
    attempts: int = 0
    due_at: datetime | None = None
    provider_id: str = ""
    read_at: datetime | None = None


class FakeMessageStore(AbstractMessageStore):
    def __init__(self) -> None:
        self.stored: dict[uuid.UUID, StoredMessage] = {}

    def of(self, tenant_id: uuid.UUID) -> list[StoredMessage]:
        return [m for m in self.stored.values() if m.planned.tenant_id == tenant_id]

    async def plan(self, messages: Sequence[PlannedMessage], now: datetime) -> int:
        def key(m: PlannedMessage) -> tuple[Any, ...]:
            return (m.tenant_id, m.source_event_id, m.rule, m.recipient.id, m.channel)

        known = {key(m.planned) for m in self.stored.values()}
        new = [m for m in messages if key(m) not in known]
        for m in new:
            self.stored[m.id] = StoredMessage(m, due_at=m.due_at)
        return len(new)

    async def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> list[ClaimedMessage]:
        due = sorted(
            (m for m in self.stored.values() if m.status == Status.PLANNED and m.due_at and m.due_at <= now),
            key=lambda m: m.due_at or now,
        )[:limit]
        for m in due:
            m.status = Status.SENDING
        return [
            ClaimedMessage(
                p.tenant_id,
                p.id,
                p.kind,
                p.category,
                p.channel,
                p.recipient,
                p.client_id,
                p.variables,
                m.attempts + 1,
                p.max_attempts,
                p.fallback_channel,
                p.fallback_after,
            )
            for m in due
            for p in (m.planned,)
        ]

    async def settle_abandoned(self, now: datetime, limit: int) -> list[str]:
        return []  # one process: no replica stops mid-send here

    async def record(self, results: Sequence[tuple[ClaimedMessage, Outcome]], now: datetime) -> int:
        for claimed, outcome in results:
            m = self.stored[claimed.id]
            m.status, m.attempts = outcome.status, claimed.attempt
            m.due_at = outcome.retry_at or m.due_at
            m.provider_id = outcome.provider_id or m.provider_id
        return len(results)

    async def resend(self, tenant_id: uuid.UUID, message_id: uuid.UUID, now: datetime) -> bool:
        m = self.stored.get(message_id)
        if m is None or m.planned.tenant_id != tenant_id or m.status not in (Status.FAILED, Status.SKIPPED):
            return False
        m.status, m.due_at = Status.PLANNED, now
        return True

    async def provider_report(
        self, tenant_id: uuid.UUID, provider_id: str, status: Status, error: str, now: datetime
    ) -> bool:
        for m in self.of(tenant_id):
            if m.provider_id == provider_id and m.status == Status.SENT:
                m.status = status
                return True
        return False

    async def forget_client(self, tenant_id: uuid.UUID, client_id: uuid.UUID, now: datetime) -> None:
        for m in self.of(tenant_id):
            if m.planned.client_id == client_id and m.status in (Status.PLANNED, Status.SENDING):
                m.status = Status.CANCELLED

    async def cancel_pending(self, tenant_id: uuid.UUID, subject_id: uuid.UUID, kind: str, now: datetime) -> int:
        pending = [
            m
            for m in self.of(tenant_id)
            if m.planned.subject_id == subject_id
            and m.planned.kind == kind
            and m.status in (Status.PLANNED, Status.SENDING)
        ]
        for m in pending:
            m.status = Status.CANCELLED
        return len(pending)

    async def mark_read(
        self,
        tenant_id: uuid.UUID,
        audience: str,
        recipient_id: uuid.UUID,
        notification_id: uuid.UUID | None,
        now: datetime,
    ) -> int:
        unread = [
            m
            for m in self.of(tenant_id)
            if m.planned.channel == "in_app"
            and m.status == Status.DELIVERED
            and (m.planned.recipient.kind, m.planned.recipient.id) == (audience, recipient_id)
            and m.read_at is None
            and notification_id in (None, m.planned.id)
        ]
        for m in unread:
            m.read_at = now
        return len(unread)


class FakeRecipientDirectory(AbstractRecipientDirectory):
    def __init__(self) -> None:
        self.contacts_: dict[tuple[uuid.UUID, uuid.UUID], ClientContact] = {}
        self.staff_: dict[tuple[uuid.UUID, uuid.UUID], StaffMember] = {}
        self.businesses: dict[uuid.UUID, BusinessProfile] = {}

    async def keep_contacts(self, tenant_id: uuid.UUID, contacts: Sequence[tuple[ClientContact, datetime]]) -> None:
        for contact, _ in contacts:
            self.contacts_[(tenant_id, contact.client_id)] = contact

    async def forget_contact(self, tenant_id: uuid.UUID, client_id: uuid.UUID, at: datetime) -> None:
        self.contacts_[(tenant_id, client_id)] = ClientContact(client_id)

    async def keep_staff(self, tenant_id: uuid.UUID, member: StaffMember, at: datetime) -> None:
        self.staff_[(tenant_id, member.staff_id)] = member

    async def keep_business(self, tenant_id: uuid.UUID, profile: BusinessProfile, at: datetime) -> None:
        self.businesses[tenant_id] = profile

    async def contacts(self, tenant_id: uuid.UUID, client_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, ClientContact]:
        return {c: self.contacts_[(tenant_id, c)] for c in client_ids if (tenant_id, c) in self.contacts_}

    async def staff(self, tenant_id: uuid.UUID, staff_ids: Collection[uuid.UUID] = ()) -> list[StaffMember]:
        return [m for (t, s), m in self.staff_.items() if t == tenant_id and (not staff_ids or s in staff_ids)]

    async def business(self, tenant_id: uuid.UUID) -> BusinessProfile:
        return self.businesses.get(tenant_id, BusinessProfile())


class FakePreferenceStore(AbstractPreferenceStore):
    def __init__(self) -> None:
        self.chosen: dict[tuple[uuid.UUID, uuid.UUID, str, str], bool] = {}
        self.preferred: dict[tuple[uuid.UUID, uuid.UUID], str] = {}
        self.links: dict[str, tuple[UnsubscribeLink, uuid.UUID, str, str]] = {}

    async def of_client(self, tenant_id: uuid.UUID, client_id: uuid.UUID) -> list[Preference]:
        return [
            Preference(category, channel, allowed)
            for (t, c, category, channel), allowed in self.chosen.items()
            if (t, c) == (tenant_id, client_id)
        ]

    async def opted_out(
        self, tenant_id: uuid.UUID, client_ids: Collection[uuid.UUID]
    ) -> set[tuple[uuid.UUID, str, str]]:
        return {
            (c, category, channel)
            for (t, c, category, channel), allowed in self.chosen.items()
            if t == tenant_id and c in client_ids and not allowed
        }

    async def choose(
        self, tenant_id: uuid.UUID, client_id: uuid.UUID, choices: Sequence[Preference], now: datetime
    ) -> None:
        for p in choices:
            self.chosen[(tenant_id, client_id, p.category, p.channel)] = p.allowed

    async def preferred_channel(self, tenant_id: uuid.UUID, client_id: uuid.UUID) -> str:
        return self.preferred.get((tenant_id, client_id), "email")

    async def prefer_channel(self, tenant_id: uuid.UUID, client_id: uuid.UUID, channel: str, now: datetime) -> None:
        self.preferred[(tenant_id, client_id)] = channel

    async def issue_links(self, links: Sequence[tuple[UnsubscribeLink, uuid.UUID, str, str]], now: datetime) -> None:
        for issued in links:
            self.links[issued[0].token] = issued

    async def follow_link(self, link: UnsubscribeLink, now: datetime) -> Preference | None:
        issued = self.links.get(link.token)
        if issued is None:
            return None
        _, client_id, category, channel = issued
        self.chosen[(link.tenant_id, client_id, category, channel)] = False
        return Preference(category, channel, False)


class FakeTemplateStore(AbstractTemplateStore):
    def __init__(self) -> None:
        self.sources: dict[tuple[uuid.UUID, str, str], str] = {}

    async def overrides(self, tenant_id: uuid.UUID) -> dict[tuple[str, str], str]:
        return {(kind, language): s for (t, kind, language), s in self.sources.items() if t == tenant_id}

    async def save(self, tenant_id: uuid.UUID, kind: str, language: str, source: str, now: datetime) -> None:
        self.sources[(tenant_id, kind, language)] = source

    async def reset(self, tenant_id: uuid.UUID, kind: str, language: str) -> bool:
        return self.sources.pop((tenant_id, kind, language), None) is not None


class FakeCampaignStore(AbstractCampaignStore):
    def __init__(self) -> None:
        self.drafts: dict[uuid.UUID, CampaignDraft] = {}
        self.started: dict[uuid.UUID, int] = {}

    async def add(self, campaign_id: uuid.UUID, draft: CampaignDraft, now: datetime) -> None:
        self.drafts[campaign_id] = draft

    async def start(self, tenant_id: uuid.UUID, campaign_id: uuid.UUID, recipients: int, now: datetime) -> bool:
        draft = self.drafts.get(campaign_id)
        if draft is None or draft.tenant_id != tenant_id or campaign_id in self.started:
            return False
        self.started[campaign_id] = recipients
        return True

    async def sources(self, tenant_id: uuid.UUID, campaign_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, str]:
        return {c: d.source for c, d in self.drafts.items() if c in campaign_ids and d.tenant_id == tenant_id}


class FakeReminderStore(AbstractReminderStore):
    def __init__(self) -> None:
        self.rules_: dict[tuple[uuid.UUID, uuid.UUID | None], ReminderRule] = {}
        # (tenant, appointment) -> (as of, staff, follow-up action)
        self.known: dict[tuple[uuid.UUID, uuid.UUID], tuple[datetime, tuple[uuid.UUID, ...], str]] = {}

    async def rules(self, tenant_id: uuid.UUID) -> list[ReminderRule]:
        return [r for (t, _), r in self.rules_.items() if t == tenant_id]

    async def set_rule(self, tenant_id: uuid.UUID, rule: ReminderRule, now: datetime) -> None:
        self.rules_[(tenant_id, rule.service_id)] = rule

    async def delete_rule(self, tenant_id: uuid.UUID, service_id: uuid.UUID | None) -> bool:
        return self.rules_.pop((tenant_id, service_id), None) is not None

    async def advance(
        self,
        tenant_id: uuid.UUID,
        appointment_id: uuid.UUID,
        start: datetime,
        *,
        cancelled: bool,
        as_of: datetime,
        staff_ids: tuple[uuid.UUID, ...] = (),
        follow_up_action: str = "",
    ) -> KnownAppointment | None:
        before = self.known.get((tenant_id, appointment_id))
        if before is not None and before[0] > as_of:
            return None
        previous_staff, previous_action = (before[1], before[2]) if before else ((), "")
        action = follow_up_action or previous_action
        self.known[(tenant_id, appointment_id)] = (as_of, staff_ids or previous_staff, action)
        return KnownAppointment(previous_staff, action)


class FakePaymentStore(AbstractPaymentStore):
    def __init__(self) -> None:
        self.rules: dict[uuid.UUID, PaymentRule] = {}
        self.invoices: dict[tuple[uuid.UUID, uuid.UUID], tuple[InvoiceFacts, str]] = {}

    async def rule(self, tenant_id: uuid.UUID) -> PaymentRule | None:
        return self.rules.get(tenant_id)

    async def set_rule(self, tenant_id: uuid.UUID, rule: PaymentRule, now: datetime) -> None:
        self.rules[tenant_id] = rule

    async def delete_rule(self, tenant_id: uuid.UUID) -> bool:
        return self.rules.pop(tenant_id, None) is not None

    async def keep_invoice(self, tenant_id: uuid.UUID, invoice: InvoiceFacts, now: datetime) -> None:
        self.invoices[(tenant_id, invoice.invoice_id)] = (invoice, "open")

    async def settle_invoice(self, tenant_id: uuid.UUID, invoice_id: uuid.UUID, state: str, now: datetime) -> None:
        kept = self.invoices.get((tenant_id, invoice_id))
        if kept is not None and kept[1] != "voided":
            self.invoices[(tenant_id, invoice_id)] = (kept[0], state)

    async def reopen(self, tenant_id: uuid.UUID, invoice_id: uuid.UUID, now: datetime) -> InvoiceFacts | None:
        kept = self.invoices.get((tenant_id, invoice_id))
        if kept is None or kept[1] != "paid":
            return None
        self.invoices[(tenant_id, invoice_id)] = (kept[0], "open")
        return kept[0]


class FakeMembershipStore(AbstractMembershipStore):
    def __init__(self) -> None:
        self.rules: dict[uuid.UUID, MembershipExpiryRule] = {}
        self.subscriptions: dict[tuple[uuid.UUID, uuid.UUID], tuple[SubscriptionFacts, datetime]] = {}

    async def rule(self, tenant_id: uuid.UUID) -> MembershipExpiryRule | None:
        return self.rules.get(tenant_id)

    async def set_rule(self, tenant_id: uuid.UUID, rule: MembershipExpiryRule, now: datetime) -> None:
        self.rules[tenant_id] = rule

    async def delete_rule(self, tenant_id: uuid.UUID) -> bool:
        return self.rules.pop(tenant_id, None) is not None

    async def keep_subscription(
        self, tenant_id: uuid.UUID, facts: SubscriptionFacts, occurred_at: datetime, now: datetime
    ) -> bool:
        kept = self.subscriptions.get((tenant_id, facts.subscription_id))
        if kept is not None and kept[1] > occurred_at:
            return False
        self.subscriptions[(tenant_id, facts.subscription_id)] = (facts, occurred_at)
        return True


class FakeUnitOfWork(NotificationUnitOfWork):
    def __init__(self, ports: NotificationPorts | None = None) -> None:
        self.activity = FakeActivityRepository()
        self.timeline = FakeTimeline(self.activity)
        self.emails = FakeSentEmails()
        self.messages = FakeMessageStore()
        self.directory = FakeRecipientDirectory()
        self.reminders = FakeReminderStore()
        self.preferences = FakePreferenceStore()
        self.templates = FakeTemplateStore()
        self.campaigns = FakeCampaignStore()
        self.payments = FakePaymentStore()
        self.memberships = FakeMembershipStore()
        self.repositories = (self.activity,)
        self.committed = False
        self._connect(
            ports
            or NotificationPorts(
                clock=FakeClock(),
                email_sender=FakeEmailSender(),
                sms_sender=FakeSmsSender(),
                client_directory=FakeClientDirectory(),
            )
        )

    async def _start(self) -> None:
        self.emails.pending = {}

    async def _commit(self, events: list[Any]) -> None:
        self.emails.committed |= self.emails.pending
        self.emails.pending = {}
        self.committed = True

    async def rollback(self) -> None:
        self.emails.pending = {}

    async def _close(self) -> None:
        await self.rollback()
