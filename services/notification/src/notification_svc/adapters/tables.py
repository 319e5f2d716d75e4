"""The notification database as SQLAlchemy Core tables, and the mapping of the timeline's domain onto them.

The tables state the whole migrated schema (tests/integration/test_schema.py holds them to it): columns, keys,
foreign keys, indexes and server defaults. CHECK constraints and triggers are not restated: they live in
migrations/ alone, and a comment at each table names its CHECKs.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    Time,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import registry

from notification_svc.domain.model import ActivityEntry
from platform_core.db import DEFAULT_EMPTY, DEFAULT_FALSE, DEFAULT_ZERO
from platform_core.messaging.schema import define_tables
from platform_core.orm import map_aggregate

metadata = MetaData()


# CHECKs (migrations/ only): activity_entries_kind_check, activity_entries_summary_check.
activity_entries = Table(
    "activity_entries",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), nullable=False),
    Column("kind", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("source_event_id", UUID(as_uuid=True), nullable=False),
    Column("source_event_type", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("anonymized_at", DateTime(timezone=True)),
    UniqueConstraint("source_event_id", name="activity_one_entry_per_event"),
)

appointment_schedule = Table(
    "appointment_schedule",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("appointment_id", UUID(as_uuid=True), primary_key=True),
    Column("start_at", DateTime(timezone=True), nullable=False),
    Column("cancelled", Boolean, nullable=False, server_default=DEFAULT_FALSE),
    Column("as_of", DateTime(timezone=True), nullable=False),
    Column("staff_ids", ARRAY(UUID(as_uuid=True)), nullable=False, server_default=text("'{}'::uuid[]")),
    Column("follow_up_action", Text, nullable=False, server_default=DEFAULT_EMPTY),
)

business_profiles = Table(
    "business_profiles",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("business_name", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("timezone", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("language", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

client_contacts = Table(
    "client_contacts",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), primary_key=True),
    Column("first_name", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("last_name", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("email", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("phone", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("language", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("timezone", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

erased_clients = Table(
    "erased_clients",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), primary_key=True),
    Column("erased_at", DateTime(timezone=True), nullable=False),
)

# CHECKs (migrations/ only): message_preferences_category_check, message_preferences_channel_check.
message_preferences = Table(
    "message_preferences",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), primary_key=True),
    Column("category", Text, primary_key=True),
    Column("channel", Text, primary_key=True),
    Column("allowed", Boolean, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# CHECKs (migrations/ only): messages_sent_at, messages_lease, messages_skip_reason, messages_attempts,
# messages_attempts_check, messages_category_check, messages_channel_check, messages_fallback_after_check,
# messages_fallback_channel_check, messages_kind_check, messages_max_attempts_check, messages_recipient_kind_check,
# messages_status_check.
messages = Table(
    "messages",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("kind", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("recipient_kind", Text, nullable=False),
    Column("recipient_id", UUID(as_uuid=True), nullable=False),
    Column("client_id", UUID(as_uuid=True)),
    Column("subject_id", UUID(as_uuid=True)),
    Column("rule", Text, nullable=False),
    Column("source_event_id", UUID(as_uuid=True), nullable=False),
    Column("variables", JSONB, nullable=False),
    Column("given_address", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("status", Text, nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("lease_until", DateTime(timezone=True)),
    Column("attempts", Integer, nullable=False, server_default=DEFAULT_ZERO),
    Column("max_attempts", Integer, nullable=False),
    Column("to_address", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("language", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("subject", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("last_error", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("skip_reason", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("provider_id", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("fallback_channel", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("fallback_after", Integer, nullable=False, server_default=DEFAULT_ZERO),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("source_event_id", "rule", "recipient_id", "channel", name="messages_once"),
    Index("messages_by_provider_id", "tenant_id", "provider_id", postgresql_where="(provider_id <> ''::text)"),
    Index("messages_due", "due_at", postgresql_where="(status = 'planned'::text)"),
    Index("messages_leased", "lease_until", postgresql_where="(status = 'sending'::text)"),
    Index(
        "messages_pending_of_subject",
        "tenant_id",
        "subject_id",
        postgresql_where="(status = ANY (ARRAY['planned'::text, 'sending'::text]))",
    ),
    Index("messages_of_source", "tenant_id", "source_event_id"),
)

# CHECKs (migrations/ only): reminder_rules_check, reminder_rules_audiences_check, reminder_rules_channels_check,
# reminder_rules_offsets_check, reminder_rules_sms_fallback_after_check.
reminder_rules = Table(
    "reminder_rules",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("service_id", UUID(as_uuid=True)),
    Column("offsets", ARRAY(Text()), nullable=False),
    Column("audiences", ARRAY(Text()), nullable=False),
    Column("channels", ARRAY(Text()), nullable=False),
    Column("sms_fallback_after", Integer, nullable=False, server_default=text("2")),
    Column("quiet_start", Time),
    Column("quiet_end", Time),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# CHECKs (migrations/ only): sent_emails_kind_check, sent_emails_to_address_check, sent_emails_transport_check.
sent_emails = Table(
    "sent_emails",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True)),
    Column("kind", Text, nullable=False),
    Column("to_address", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("message_id", Text, nullable=False),
    Column("transport", Text, nullable=False),
    Column("source_event_id", UUID(as_uuid=True), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("source_event_id", name="sent_emails_one_per_event"),
)

staff_directory = Table(
    "staff_directory",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("staff_id", UUID(as_uuid=True), primary_key=True),
    Column("email", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("name", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("role", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("permissions", ARRAY(Text()), nullable=False, server_default=text("'{}'::text[]")),
    Column("active", Boolean, nullable=False),
    Column("language", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("timezone", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("staff_who_may", "permissions", postgresql_using="gin", postgresql_where="active"),
)

# CHECKs (migrations/ only): template_overrides_kind_check, template_overrides_language_check,
# template_overrides_source_check.
template_overrides = Table(
    "template_overrides",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("kind", Text, primary_key=True),
    Column("language", Text, primary_key=True),
    Column("source", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# CHECKs (migrations/ only): timeline_merges_check, timeline_merges_check1.
timeline_merges = Table(
    "timeline_merges",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("merge_id", UUID(as_uuid=True), primary_key=True),
    Column("merged_client_id", UUID(as_uuid=True), primary_key=True),
    Column("survivor_id", UUID(as_uuid=True), nullable=False),
    Column("merged_at", DateTime(timezone=True), nullable=False),
    Column("unmerged_at", DateTime(timezone=True)),
    Index(
        "timeline_merges_open", "tenant_id", "merged_client_id", postgresql_where="(unmerged_at IS NULL)", unique=True
    ),
)

unsubscribe_links = Table(
    "unsubscribe_links",
    metadata,
    Column("secret_hash", LargeBinary, primary_key=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("client_id", UUID(as_uuid=True), nullable=False),
    Column("category", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

activity_merge_moves = Table(
    "activity_merge_moves",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("merge_id", UUID(as_uuid=True), primary_key=True),
    Column("entry_id", UUID(as_uuid=True), primary_key=True),
    Column("original_client_id", UUID(as_uuid=True), nullable=False),
    ForeignKeyConstraint(
        ["tenant_id", "entry_id"],
        ["activity_entries.tenant_id", "activity_entries.id"],
        name="activity_merge_moves_tenant_id_entry_id_fkey",
    ),
)

# CHECKs (migrations/ only): inbox_notifications_audience_check.
inbox_notifications = Table(
    "inbox_notifications",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("audience", Text, nullable=False),
    Column("recipient_id", UUID(as_uuid=True), nullable=False),
    Column("kind", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("read_at", DateTime(timezone=True)),
    ForeignKeyConstraint(
        ["tenant_id", "id"],
        ["messages.tenant_id", "messages.id"],
        ondelete="CASCADE",
        name="inbox_notifications_tenant_id_id_fkey",
    ),
    Index("inbox_unread", "tenant_id", "audience", "recipient_id", postgresql_where="(read_at IS NULL)"),
)

# CHECKs (migrations/ only): message_attempts_number_check, message_attempts_outcome_check.
message_attempts = Table(
    "message_attempts",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("message_id", UUID(as_uuid=True), primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("channel", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("outcome", Text, nullable=False),
    Column("error", Text, nullable=False, server_default=DEFAULT_EMPTY),
    ForeignKeyConstraint(
        ["tenant_id", "message_id"],
        ["messages.tenant_id", "messages.id"],
        ondelete="CASCADE",
        name="message_attempts_tenant_id_message_id_fkey",
    ),
)


# CHECKs (migrations/ only): campaigns_started, campaigns_channel_check, campaigns_name_check,
# campaigns_source_check, campaigns_rate_per_minute_check, campaigns_recipients_check, campaigns_status_check.
campaigns = Table(
    "campaigns",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("name", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("group_id", UUID(as_uuid=True)),
    Column("status_id", UUID(as_uuid=True)),
    Column("tag", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("source", Text, nullable=False),
    Column("rate_per_minute", Integer, nullable=False),
    Column("status", Text, nullable=False),
    Column("recipients", Integer, nullable=False, server_default=DEFAULT_ZERO),
    Column("created_by", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True)),
)

# CHECKs (migrations/ only): invoice_facts_state_check.
invoice_facts = Table(
    "invoice_facts",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("invoice_id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), nullable=False),
    Column("number", BigInteger, nullable=False),
    Column("currency", Text, nullable=False),
    Column("total_minor", BigInteger, nullable=False),
    Column("due_date", Date),
    Column("state", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# CHECKs (migrations/ only): payment_reminder_rules_channels_check, payment_reminder_rules_days_check.
payment_reminder_rules = Table(
    "payment_reminder_rules",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("days", ARRAY(Integer()), nullable=False),
    Column("channels", ARRAY(Text()), nullable=False),
    Column("send_at", Time, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# CHECKs (migrations/ only): membership_expiry_rules_channels_check, membership_expiry_rules_days_check.
membership_expiry_rules = Table(
    "membership_expiry_rules",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("days", ARRAY(Integer()), nullable=False),
    Column("channels", ARRAY(Text()), nullable=False),
    Column("send_at", Time, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# CHECKs (migrations/ only): subscription_facts_check, subscription_facts_status_check.
subscription_facts = Table(
    "subscription_facts",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("subscription_id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), nullable=False),
    Column("membership_name", Text, nullable=False),
    Column("expires_on", Date, nullable=False),
    Column("tolerance_until", Date, nullable=False),
    Column("status", Text, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# CHECKs (migrations/ only): preferred_channels_channel_check.
preferred_channels = Table(
    "preferred_channels",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), primary_key=True),
    Column("channel", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Newest-first listings; one reminder rule per business and per service.
Index("campaigns_newest", campaigns.c.tenant_id, campaigns.c.created_at.desc(), campaigns.c.id.desc())
Index(
    "activity_by_client",
    activity_entries.c.tenant_id,
    activity_entries.c.client_id,
    activity_entries.c.occurred_at.desc(),
    activity_entries.c.id.desc(),
)
Index("messages_by_state", messages.c.tenant_id, messages.c.status, messages.c.created_at.desc(), messages.c.id.desc())
Index(
    "messages_of_client", messages.c.tenant_id, messages.c.client_id, messages.c.created_at.desc(), messages.c.id.desc()
)
Index(
    "reminder_rules_one_per_scope",
    reminder_rules.c.tenant_id,
    func.coalesce(reminder_rules.c.service_id, text("'00000000-0000-0000-0000-000000000000'::uuid")),
    unique=True,
)
Index("sent_emails_of_client", sent_emails.c.tenant_id, sent_emails.c.client_id, sent_emails.c.sent_at.desc())
Index(
    "inbox_of_recipient",
    inbox_notifications.c.tenant_id,
    inbox_notifications.c.audience,
    inbox_notifications.c.recipient_id,
    inbox_notifications.c.created_at.desc(),
    inbox_notifications.c.id.desc(),
)

outbox, inbox, parked_messages = define_tables(metadata)

mapper_registry = registry(metadata=metadata)


def start_mappers() -> None:
    map_aggregate(mapper_registry, ActivityEntry, activity_entries)
