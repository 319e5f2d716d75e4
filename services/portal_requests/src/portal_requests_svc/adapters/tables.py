"""The portal-requests database as SQLAlchemy Core tables (the schema itself is in migrations/)."""

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
    MetaData,
    Table,
    Text,
    Time,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from platform_core.messaging.schema import define_tables

metadata = MetaData()

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
    Column("message", Text, nullable=False),
    Column("timezone", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("appointment_id", UUID(as_uuid=True)),
    Column("decline_reason", Text, nullable=False),
    Column("decided_by", Text, nullable=False),
    Column("decided_at", DateTime(timezone=True)),
    Column("submission_id", Text),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("reference_number", Integer, nullable=False),
    Column("service_name", Text, nullable=False),
    Column("duration_minutes", Integer, nullable=False),
    Column("business_timezone", Text, nullable=False),
    Column("preferred_staff_name", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("technician_id", UUID(as_uuid=True)),
    Column("technician_name", Text, nullable=False),
    Column("start_at", DateTime(timezone=True)),
    Column("end_at", DateTime(timezone=True)),
    Column("internal_notes", Text, nullable=False),
    Column("ticket", Text, nullable=False),
    Column("cancelled_by", Text, nullable=False),
    Column("cancelled_at", DateTime(timezone=True)),
    Column("alternatives", JSONB, nullable=False),
    Column("hold_until", DateTime(timezone=True)),
    Column("proposal_note", Text, nullable=False),
    Column("proposed_technician_id", UUID(as_uuid=True)),
    Column("proposed_technician_name", Text, nullable=False),
    Column("hold_staff_id", UUID(as_uuid=True)),
    Column("hold_start", DateTime(timezone=True)),
    Column("hold_end", DateTime(timezone=True)),
)

request_counters = Table(
    "request_counters",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("last_number", Integer, nullable=False),
)

# The clients who asked, as the client service last described them (as_of: when that was true).
request_clients = Table(
    "request_clients",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), primary_key=True),
    Column("name", Text, nullable=False),
    Column("email", Text, nullable=False),
    Column("phone", Text, nullable=False),
    Column("as_of", DateTime(timezone=True), nullable=False),
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

request_settings = Table(
    "request_settings",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("ticket_url_pattern", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("proposal_hold_minutes", Integer, nullable=False),
    Column("offer_hold_minutes", Integer, nullable=False),
    Column("tentative_holds", Boolean, nullable=False, server_default=text("false")),
)

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
    Column("staff_name", Text, nullable=False),
    Column("from_date", Date, nullable=False),
    Column("to_date", Date, nullable=False),
    Column("window_start", Time),
    Column("window_end", Time),
    Column("timezone", Text, nullable=False),
    Column("business_timezone", Text, nullable=False),
    Column("joined_by", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

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
)

request_history = Table(
    "request_history",
    metadata,
    Column("seq", BigInteger, primary_key=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("request_id", UUID(as_uuid=True), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("details", JSONB, nullable=False),
)

outbox, inbox, parked_messages = define_tables(metadata)
