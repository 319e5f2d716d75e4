"""The scheduling tables as SQLAlchemy Core objects.

Appointments are read and written with Core statements rather than mapped classes: a booking touches
five tables and takes staff time in the same transaction, and explicit statements keep that to a few
round trips.

The tables state the whole migrated schema (tests/integration/test_schema.py holds them to it): columns,
keys, foreign keys, indexes and server defaults. CHECK and exclusion constraints and triggers are not
restated: they live in migrations/ alone, and a comment at each table names those it has.
"""

from __future__ import annotations

import uuid
from typing import Any

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
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSTZRANGE, UUID

from client_contract.following import merge_moves_table
from platform_core.db import DEFAULT_EMPTY, DEFAULT_FALSE, DEFAULT_ONE, DEFAULT_ZERO
from platform_core.messaging.schema import define_tables

metadata = MetaData()


def _tenant() -> Column[uuid.UUID]:
    return Column("tenant_id", UUID(as_uuid=True), primary_key=True)


def _references(columns: list[str], table: str, keys: list[str], **options: Any) -> ForeignKeyConstraint:
    """A tenant-scoped foreign key: ``tenant_id`` first on both sides."""
    return ForeignKeyConstraint(
        ["tenant_id", *columns], [f"{table}.tenant_id", *(f"{table}.{key}" for key in keys)], **options
    )


# CHECKs (ranges of every setting, JSON shapes): migrations/ only.
scheduling_settings = Table(
    "scheduling_settings",
    metadata,
    _tenant(),
    Column("timezone", Text, nullable=False),
    Column("granularity_minutes", Integer, nullable=False),
    Column("min_notice_minutes", Integer, nullable=False),
    Column("horizon_days", Integer, nullable=False),
    Column("business_hours", JSONB, nullable=False, server_default=text("'{}'")),
    Column("cancellation_notice_minutes", Integer, nullable=False, server_default=DEFAULT_ZERO),
    Column("max_active_bookings_per_client", Integer, nullable=False, server_default=DEFAULT_ZERO),
    Column("follow_up_actions", JSONB, nullable=False, server_default=text("'[]'")),
    Column("version", Integer, nullable=False, server_default=DEFAULT_ONE),
    Column("zone_followed_at", DateTime(timezone=True)),
)

# CHECKs (name, zone, weekly hours an object): migrations/ only.
staff_members = Table(
    "staff_members",
    metadata,
    _tenant(),
    Column("staff_id", UUID(as_uuid=True), primary_key=True),
    # The key the exclusion constraints of time_blocks compare (gist has no uuid equality without btree_gist).
    Column("staff_key", BigInteger, Identity(always=True)),
    Column("display_name", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("timezone", Text, nullable=False),
    Column("weekly_hours", JSONB, nullable=False),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("version", Integer, nullable=False, server_default=DEFAULT_ONE),
    UniqueConstraint("staff_key", name="staff_members_staff_key_key"),
    # What time_blocks' foreign key names, so a block's key is its staff member's.
    UniqueConstraint("tenant_id", "staff_id", "staff_key", name="staff_members_tenant_id_staff_id_staff_key_key"),
)

# CHECKs (name, kind, capacity): migrations/ only.
resources = Table(
    "resources",
    metadata,
    _tenant(),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("resource_key", BigInteger, Identity(always=True)),
    Column("name", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("archived", Boolean, nullable=False, server_default=DEFAULT_FALSE),
    UniqueConstraint("resource_key", name="resources_resource_key_key"),
)
Index(
    "resources_live_name",
    resources.c.tenant_id,
    func.lower(resources.c.name),
    unique=True,
    postgresql_where=~resources.c.archived,
)

# CHECKs (name, lengths, colour, durations, buffers, price, currency, capacity, slot rules): migrations/ only.
services = Table(
    "services",
    metadata,
    _tenant(),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("name", Text, nullable=False),
    Column("description", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("category", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("colour", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("duration_minutes", Integer, nullable=False),
    Column("buffer_before_minutes", Integer, nullable=False, server_default=DEFAULT_ZERO),
    Column("buffer_after_minutes", Integer, nullable=False, server_default=DEFAULT_ZERO),
    Column("price_minor", BigInteger, nullable=False),
    Column("currency", Text, nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("bookable_online", Boolean, nullable=False, server_default=text("true")),
    Column("granularity_minutes", Integer),
    Column("min_notice_minutes", Integer),
    Column("horizon_days", Integer),
    Column("archived", Boolean, nullable=False, server_default=DEFAULT_FALSE),
    Column("version", Integer, nullable=False, server_default=DEFAULT_ONE),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
Index(
    "services_live_name",
    services.c.tenant_id,
    func.lower(services.c.name),
    unique=True,
    postgresql_where=~services.c.archived,
)

service_staff = Table(
    "service_staff",
    metadata,
    _tenant(),
    Column("service_id", UUID(as_uuid=True), primary_key=True),
    Column("staff_id", UUID(as_uuid=True), primary_key=True),
    _references(["service_id"], "services", ["id"], ondelete="CASCADE"),
    _references(["staff_id"], "staff_members", ["staff_id"]),
)
Index("service_staff_by_staff", service_staff.c.tenant_id, service_staff.c.staff_id)

service_resources = Table(
    "service_resources",
    metadata,
    _tenant(),
    Column("service_id", UUID(as_uuid=True), primary_key=True),
    Column("resource_id", UUID(as_uuid=True), primary_key=True),
    _references(["service_id"], "services", ["id"], ondelete="CASCADE"),
    _references(["resource_id"], "resources", ["id"]),
)

# CHECKs (ranges a JSON array, extra hours name their hours, label): migrations/ only.
schedule_exceptions = Table(
    "schedule_exceptions",
    metadata,
    _tenant(),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("staff_id", UUID(as_uuid=True)),  # NULL: the whole business
    Column("day", Date, nullable=False),
    Column("available", Boolean, nullable=False),
    Column("ranges", JSONB, nullable=False, server_default=text("'[]'")),
    Column("label", Text, nullable=False, server_default=DEFAULT_EMPTY),
    _references(["staff_id"], "staff_members", ["staff_id"]),
)
Index(
    "schedule_exceptions_by_day",
    schedule_exceptions.c.tenant_id,
    schedule_exceptions.c.staff_id,
    schedule_exceptions.c.day,
)

# CHECKs (status, source, lengths, ends after start, cancelled iff cancelled_by, series links whole,
# follow-ups, series source) and the trigger appointments_status_transition (allowed status changes):
# migrations/ only.
appointments = Table(
    "appointments",
    metadata,
    _tenant(),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), nullable=False),
    Column("status", Text, nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("timezone", Text, nullable=False),
    Column("notes", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("staff_notes", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("ticket", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("source", Text, nullable=False),
    Column("availability_overridden", Boolean, nullable=False, server_default=DEFAULT_FALSE),
    Column("cancellation_reason", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("cancelled_by", Text),
    Column("series_id", UUID(as_uuid=True)),
    Column("occurrence_start", DateTime(timezone=True)),
    Column("follow_up_of", UUID(as_uuid=True)),
    Column("follow_up_action", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("request_id", Text),
    Column("created_by", Text, nullable=False),
    Column("version", Integer, nullable=False, server_default=DEFAULT_ONE),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    _references(["follow_up_of"], "appointments", ["id"]),
    _references(["series_id"], "recurring_series", ["id"], name="appointments_series_fkey"),
)
Index(
    "appointments_request_id",
    appointments.c.tenant_id,
    appointments.c.request_id,
    unique=True,
    postgresql_where=appointments.c.request_id.isnot(None),
)
# One appointment per occurrence of a series: editing or re-materializing never duplicates one.
Index(
    "appointments_occurrence",
    appointments.c.tenant_id,
    appointments.c.series_id,
    appointments.c.occurrence_start,
    unique=True,
    postgresql_where=appointments.c.series_id.isnot(None),
)
Index(
    "appointments_by_client",
    appointments.c.tenant_id,
    appointments.c.client_id,
    appointments.c.starts_at.desc(),
)
Index("appointments_by_start", appointments.c.tenant_id, appointments.c.starts_at)

# CHECKs (occupied bounded and not empty, capacity, seats within capacity, released when empty) and the
# exclusion constraint time_blocks_no_overlap (no double booking of a staff member): migrations/ only.
time_blocks = Table(
    "time_blocks",
    metadata,
    _tenant(),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("staff_id", UUID(as_uuid=True), nullable=False),
    Column("staff_key", BigInteger, nullable=False),
    Column("service_id", UUID(as_uuid=True), nullable=False),
    Column("session_start", DateTime(timezone=True), nullable=False),
    Column("occupied", TSTZRANGE, nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("seats_taken", Integer, nullable=False),
    Column("released", Boolean, nullable=False, server_default=DEFAULT_FALSE),
    _references(["staff_id", "staff_key"], "staff_members", ["staff_id", "staff_key"]),
)
Index(
    "time_blocks_session",
    time_blocks.c.tenant_id,
    time_blocks.c.staff_id,
    time_blocks.c.service_id,
    time_blocks.c.session_start,
    postgresql_where=~time_blocks.c.released,
)

# The exclusion constraint resource_blocks_no_overlap (one booking per unit of a resource at a time):
# migrations/ only.
resource_blocks = Table(
    "resource_blocks",
    metadata,
    _tenant(),
    Column("time_block_id", UUID(as_uuid=True), primary_key=True),
    Column("resource_id", UUID(as_uuid=True), primary_key=True),
    Column("unit_key", BigInteger, nullable=False),
    Column("occupied", TSTZRANGE, nullable=False),
    Column("released", Boolean, nullable=False, server_default=DEFAULT_FALSE),
    _references(["time_block_id"], "time_blocks", ["id"]),
    _references(["resource_id"], "resources", ["id"]),
)

# CHECKs (position, seats, price, currency, buffers, capacity, ends after start): migrations/ only.
appointment_segments = Table(
    "appointment_segments",
    metadata,
    _tenant(),
    Column("appointment_id", UUID(as_uuid=True), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("service_id", UUID(as_uuid=True), nullable=False),
    Column("service_name", Text, nullable=False),
    Column("staff_id", UUID(as_uuid=True), nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("seats", Integer, nullable=False),
    Column("price_minor", BigInteger, nullable=False),
    Column("currency", Text, nullable=False),
    Column("buffer_before_minutes", Integer, nullable=False),
    Column("buffer_after_minutes", Integer, nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("resource_ids", ARRAY(UUID(as_uuid=True)), nullable=False, server_default=text("'{}'")),
    Column("time_block_id", UUID(as_uuid=True), nullable=False),
    _references(["appointment_id"], "appointments", ["id"], ondelete="CASCADE"),
    _references(["time_block_id"], "time_blocks", ["id"]),
)
Index(
    "appointment_segments_by_staff",
    appointment_segments.c.tenant_id,
    appointment_segments.c.staff_id,
    appointment_segments.c.starts_at,
)

appointment_history = Table(
    "appointment_history",
    metadata,
    Column("tenant_id", UUID(as_uuid=True)),
    Column("appointment_id", UUID(as_uuid=True)),
    Column("seq", BigInteger, Identity(always=True), autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("changes", JSONB, nullable=False, server_default=text("'{}'")),
    # Stated as a constraint, not per column: SQLAlchemy would put the identity column first in the key.
    PrimaryKeyConstraint("tenant_id", "appointment_id", "seq"),
    _references(["appointment_id"], "appointments", ["id"], ondelete="CASCADE"),
)

# Tentative holds of appointment requests, each taking its staff time as a time_blocks row. CHECKs (label
# length, ends after start): migrations/ only.
slot_holds = Table(
    "slot_holds",
    metadata,
    _tenant(),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), nullable=False),
    Column("service_id", UUID(as_uuid=True), nullable=False),
    Column("staff_id", UUID(as_uuid=True), nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("label", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("time_block_id", UUID(as_uuid=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("tenant_id", "time_block_id", name="slot_holds_one_per_block"),
    _references(["time_block_id"], "time_blocks", ["id"]),
)
Index("slot_holds_by_staff", slot_holds.c.tenant_id, slot_holds.c.staff_id, slot_holds.c.starts_at)

# CHECKs (owner kind, a 32-byte hash, revoked whole and after creation): migrations/ only.
calendar_feeds = Table(
    "calendar_feeds",
    metadata,
    _tenant(),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("owner_kind", Text, nullable=False),
    Column("owner_id", UUID(as_uuid=True), nullable=False),
    Column("token_hash", LargeBinary, nullable=False),
    Column("include_cancelled", Boolean, nullable=False, server_default=DEFAULT_FALSE),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", Text, nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("revoked_by", Text),
)
Index(
    "calendar_feeds_one_live_per_owner",
    calendar_feeds.c.tenant_id,
    calendar_feeds.c.owner_kind,
    calendar_feeds.c.owner_id,
    unique=True,
    postgresql_where=calendar_feeds.c.revoked_at.is_(None),
)
Index(
    "calendar_feeds_by_owner",
    calendar_feeds.c.tenant_id,
    calendar_feeds.c.owner_kind,
    calendar_feeds.c.owner_id,
    calendar_feeds.c.created_at.desc(),
)

# CHECKs (status, RRULE, zone, seats, notes, request id): migrations/ only.
recurring_series = Table(
    "recurring_series",
    metadata,
    _tenant(),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), nullable=False),
    Column("status", Text, nullable=False),
    Column("rrule", Text, nullable=False),
    Column("dtstart_local", DateTime(timezone=False), nullable=False),
    Column("timezone", Text, nullable=False),
    Column("seats", Integer, nullable=False),
    Column("notes", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("availability_overridden", Boolean, nullable=False, server_default=DEFAULT_FALSE),
    Column("materialized_until", DateTime(timezone=True), nullable=False),
    Column("parent_id", UUID(as_uuid=True)),
    Column("successor_id", UUID(as_uuid=True)),
    Column("request_id", Text),
    Column("created_by", Text, nullable=False),
    Column("version", Integer, nullable=False, server_default=DEFAULT_ONE),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    _references(["parent_id"], "recurring_series", ["id"]),
    # Deferred: "this and following" ends a series and points it at its successor in one transaction.
    _references(["successor_id"], "recurring_series", ["id"], deferrable=True, initially="DEFERRED"),
)
Index(
    "recurring_series_request_id",
    recurring_series.c.tenant_id,
    recurring_series.c.request_id,
    unique=True,
    postgresql_where=recurring_series.c.request_id.isnot(None),
)
Index(
    "recurring_series_by_client",
    recurring_series.c.tenant_id,
    recurring_series.c.client_id,
    recurring_series.c.created_at.desc(),
)
Index(
    "recurring_series_due",
    recurring_series.c.materialized_until,
    postgresql_where=recurring_series.c.status == "active",
)

# CHECK (position 0 to 5): migrations/ only.
series_segments = Table(
    "series_segments",
    metadata,
    _tenant(),
    Column("series_id", UUID(as_uuid=True), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("service_id", UUID(as_uuid=True), nullable=False),
    Column("staff_id", UUID(as_uuid=True)),  # NULL: any qualified staff member free at each occurrence
    _references(["series_id"], "recurring_series", ["id"], ondelete="CASCADE"),
    _references(["service_id"], "services", ["id"]),
    _references(["staff_id"], "staff_members", ["staff_id"]),
)

# CHECKs (kind, shifted iff moved, reason): migrations/ only.
series_exceptions = Table(
    "series_exceptions",
    metadata,
    _tenant(),
    Column("series_id", UUID(as_uuid=True), primary_key=True),
    Column("occurrence_start", DateTime(timezone=True), primary_key=True),
    Column("kind", Text, nullable=False),
    Column("moved_to", DateTime(timezone=True)),
    Column("reason", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("actor", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    _references(["series_id"], "recurring_series", ["id"], ondelete="CASCADE"),
)

# Appointments and series a client merge re-pointed (adapters/client_links.py).
client_merge_moves = merge_moves_table(metadata)

# What booking needs to know of each client, kept from the client service's events
# (adapters/client_facts.py). CHECKs (each fact with its time): migrations/ only.
client_facts = Table(
    "client_facts",
    metadata,
    _tenant(),
    Column("client_id", UUID(as_uuid=True), primary_key=True),
    Column("online_booking_blocked", Boolean),
    Column("blocked_at", DateTime(timezone=True)),
    Column("deleted", Boolean),
    Column("deleted_at", DateTime(timezone=True)),
    Column("erased", Boolean, nullable=False, server_default=DEFAULT_FALSE),
    Column("erased_at", DateTime(timezone=True)),
    Column("timezone", Text),
    Column("timezone_at", DateTime(timezone=True)),
    Column("merged_into", UUID(as_uuid=True)),
    Column("merged_at", DateTime(timezone=True)),
)

# Bumped by a trigger on every change of a business's catalogue (settings, services, their staff and resources,
# staff hours, exceptions, resources): what the catalogue cache keys its entries by. Trigger: migrations/ only.
catalogue_versions = Table(
    "catalogue_versions",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("version", BigInteger, nullable=False),
)

outbox, inbox, parked_messages = define_tables(metadata)
