"""The portal-requests database as SQLAlchemy Core tables.

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
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    Time,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from client_contract.following import merge_moves_table
from platform_core.db import DEFAULT_EMPTY, DEFAULT_FALSE, DEFAULT_ONE, DEFAULT_ZERO
from platform_core.messaging.schema import define_tables

metadata = MetaData()


# CHECKs (migrations/ only): appointment_requests_cancelled_says_by_whom,
# appointment_requests_declined_gives_reason, appointment_requests_decided,
# appointment_requests_appointment_of_decision, appointment_requests_cancelled_by_check,
# appointment_requests_channel_check, appointment_requests_duration_minutes_check,
# appointment_requests_alternatives_check, appointment_requests_options_check,
# appointment_requests_business_timezone_check, appointment_requests_decided_by_check,
# appointment_requests_decline_reason_check, appointment_requests_internal_notes_check,
# appointment_requests_message_check, appointment_requests_preferred_staff_name_check,
# appointment_requests_proposal_note_check, appointment_requests_proposed_technician_name_check,
# appointment_requests_service_name_check, appointment_requests_submission_id_check,
# appointment_requests_technician_name_check, appointment_requests_ticket_check,
# appointment_requests_timezone_check, appointment_requests_reference,
# appointment_requests_approved_names_appointment, appointment_requests_proposal, appointment_requests_status_check,
# appointment_requests_version_check.
appointment_requests = Table(
    "appointment_requests",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), nullable=False),
    Column("service_id", UUID(as_uuid=True), nullable=False),
    Column("preferred_staff_id", UUID(as_uuid=True)),
    Column("options", JSONB, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("message", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("timezone", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("appointment_id", UUID(as_uuid=True)),
    Column("decline_reason", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("decided_by", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("decided_at", DateTime(timezone=True)),
    Column("submission_id", Text),
    Column("version", Integer, nullable=False, server_default=DEFAULT_ONE),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("reference_number", Integer, nullable=False),
    Column("service_name", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("duration_minutes", Integer, nullable=False, server_default=DEFAULT_ZERO),
    Column("business_timezone", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("preferred_staff_name", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("channel", Text, nullable=False, server_default=text("'portal'::text")),
    Column("technician_id", UUID(as_uuid=True)),
    Column("technician_name", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("start_at", DateTime(timezone=True)),
    Column("end_at", DateTime(timezone=True)),
    Column("internal_notes", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("ticket", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("cancelled_by", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("cancelled_at", DateTime(timezone=True)),
    Column("alternatives", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("hold_until", DateTime(timezone=True)),
    Column("proposal_note", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("proposed_technician_id", UUID(as_uuid=True)),
    Column("proposed_technician_name", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("hold_staff_id", UUID(as_uuid=True)),
    Column("hold_start", DateTime(timezone=True)),
    Column("hold_end", DateTime(timezone=True)),
    Column("held_for_approval", Boolean, nullable=False, server_default=DEFAULT_FALSE),
    Index("appointment_requests_by_client", "tenant_id", "client_id", "created_at", "id"),
    Index("appointment_requests_by_reference", "tenant_id", "reference_number", unique=True),
    Index("appointment_requests_by_status", "tenant_id", "status"),
    Index(
        "appointment_requests_expiry",
        "expires_at",
        postgresql_where="(status = ANY (ARRAY['pending'::text, 'proposed'::text]))",
    ),
    Index(
        "appointment_requests_pending", "tenant_id", "created_at", "id", postgresql_where="(status = 'pending'::text)"
    ),
    Index(
        "appointment_requests_submission",
        "tenant_id",
        "client_id",
        "submission_id",
        postgresql_where="(submission_id IS NOT NULL)",
        unique=True,
    ),
)

# CHECKs (migrations/ only): request_clients_email_check, request_clients_name_check, request_clients_phone_check.
# The clients who asked, as the client service last described them (as_of: when that was true).
request_clients = Table(
    "request_clients",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), primary_key=True),
    Column("name", Text, nullable=False),
    Column("email", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("phone", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("as_of", DateTime(timezone=True), nullable=False),
)

# Clients whose online requests wait for staff approval until an instant (billing's ClientRequestsNeedApproval):
# a row per tripping no-show (``id``: its appointment), following the client through merges; the latest unlapsed
# instant holds, and a row whose instant has passed has lapsed and is simply not asked for.
clients_needing_approval = Table(
    "clients_needing_approval",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), nullable=False),
    Column("until", DateTime(timezone=True), nullable=False),
    Column("reason", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Index("clients_needing_approval_client", "tenant_id", "client_id", "until"),
)

# Each client's name words in lower case (kept by the trigger request_client_words_sync: migrations/ only), for
# "a name word starts with" from the index on (tenant_id, word text_pattern_ops).
request_client_words = Table(
    "request_client_words",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), primary_key=True),
    Column("word", Text, primary_key=True),
    ForeignKeyConstraint(
        ["tenant_id", "client_id"], ["request_clients.tenant_id", "request_clients.client_id"], ondelete="CASCADE"
    ),
)
Index(
    "request_client_words_prefix",
    request_client_words.c.tenant_id,
    request_client_words.c.word,
    postgresql_ops={"word": "text_pattern_ops"},
)

# CHECKs (migrations/ only): request_counters_last_number_check.
request_counters = Table(
    "request_counters",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("last_number", Integer, nullable=False),
)

# CHECKs (migrations/ only): request_settings_offer_hold_minutes_check,
# request_settings_proposal_hold_minutes_check, request_settings_ticket_url_pattern_check,
# request_settings_version_check.
request_settings = Table(
    "request_settings",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("ticket_url_pattern", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("version", Integer, nullable=False, server_default=DEFAULT_ONE),
    Column("proposal_hold_minutes", Integer, nullable=False, server_default=text("2880")),
    Column("offer_hold_minutes", Integer, nullable=False, server_default=text("120")),
    Column("tentative_holds", Boolean, nullable=False, server_default=text("false")),
)

# CHECKs (migrations/ only): waitlist_entries_check1, waitlist_entries_duration_minutes_check,
# waitlist_entries_check, waitlist_entries_joined_by_check, waitlist_entries_override_by_staff,
# waitlist_entries_business_timezone_check, waitlist_entries_service_name_check, waitlist_entries_staff_name_check,
# waitlist_entries_timezone_check,
# waitlist_entries_status_check, waitlist_entries_version_check.
waitlist_entries = Table(
    "waitlist_entries",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), nullable=False),
    Column("service_id", UUID(as_uuid=True), nullable=False),
    Column("service_name", Text, nullable=False),
    Column("duration_minutes", Integer, nullable=False),
    Column("staff_id", UUID(as_uuid=True)),
    Column("staff_name", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("from_date", Date, nullable=False),
    Column("to_date", Date, nullable=False),
    Column("window_start", Time),
    Column("window_end", Time),
    Column("timezone", Text, nullable=False),
    Column("business_timezone", Text, nullable=False),
    Column("joined_by", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("version", Integer, nullable=False, server_default=DEFAULT_ONE),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("booking_rules_overridden", Boolean, nullable=False, server_default=text("false")),
    Index("waitlist_entries_by_client", "tenant_id", "client_id", "created_at"),
    Index(
        "waitlist_entries_waiting",
        "tenant_id",
        "service_id",
        "created_at",
        "id",
        postgresql_where="(status = 'waiting'::text)",
    ),
)

# CHECKs (migrations/ only): request_history_action_check, request_history_details_check,
# request_history_actor_check.
request_history = Table(
    "request_history",
    metadata,
    Column("seq", BigInteger, Identity(always=True), primary_key=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("request_id", UUID(as_uuid=True), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("details", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    ForeignKeyConstraint(
        ["tenant_id", "request_id"],
        ["appointment_requests.tenant_id", "appointment_requests.id"],
        name="request_history_tenant_id_request_id_fkey",
    ),
    Index("request_history_by_request", "tenant_id", "request_id", "seq"),
)

# CHECKs (migrations/ only): waitlist_offers_check1, waitlist_offers_check, waitlist_offers_status_check.
waitlist_offers = Table(
    "waitlist_offers",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("entry_id", UUID(as_uuid=True), nullable=False),
    Column("service_id", UUID(as_uuid=True), nullable=False),
    Column("staff_id", UUID(as_uuid=True), nullable=False),
    Column("start_at", DateTime(timezone=True), nullable=False),
    Column("end_at", DateTime(timezone=True), nullable=False),
    Column("hold_until", DateTime(timezone=True), nullable=False),
    Column("status", Text, nullable=False),
    Column("appointment_id", UUID(as_uuid=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    ForeignKeyConstraint(
        ["tenant_id", "entry_id"],
        ["waitlist_entries.tenant_id", "waitlist_entries.id"],
        name="waitlist_offers_tenant_id_entry_id_fkey",
    ),
    Index("waitlist_offers_by_entry", "tenant_id", "entry_id", "created_at"),
    Index("waitlist_offers_by_time", "tenant_id", "staff_id", "start_at"),
    Index("waitlist_offers_expiry", "hold_until", postgresql_where="(status = 'open'::text)"),
    Index(
        "waitlist_offers_one_open_per_entry",
        "tenant_id",
        "entry_id",
        postgresql_where="(status = 'open'::text)",
        unique=True,
    ),
    Index(
        "waitlist_offers_one_open_per_time",
        "tenant_id",
        "staff_id",
        "start_at",
        postgresql_where="(status = 'open'::text)",
        unique=True,
    ),
)


# Requests a client merge re-pointed.
client_merge_moves = merge_moves_table(metadata)

# Requests from the public booking page until the visitor's emailed code confirms them (only its hash is kept).
# CHECKs and the trigger that counts wrong codes and locks: migrations/ only.
public_requests = Table(
    "public_requests",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("name", Text, nullable=False),
    Column("email", Text, nullable=False),
    Column("phone", Text, nullable=False),
    Column("service_id", UUID(as_uuid=True), nullable=False),
    Column("preferred_staff_id", UUID(as_uuid=True)),
    Column("start_at", DateTime(timezone=True), nullable=False),
    Column("message", Text, nullable=False),
    Column("timezone", Text, nullable=False),
    Column("language", Text, nullable=False),
    Column("code_hash", LargeBinary, nullable=False),
    Column("answers", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("wrong_codes", Integer, nullable=False, server_default="0"),
    Column("status", Text, nullable=False),
    Column("request_id", UUID(as_uuid=True)),
    Column("client_id", UUID(as_uuid=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("public_requests_created", "created_at"),
)

outbox, inbox, parked_messages = define_tables(metadata)
