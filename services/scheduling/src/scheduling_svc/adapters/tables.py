"""The scheduling tables as SQLAlchemy Core objects (the schema itself is in migrations/).

Appointments are read and written with Core statements rather than mapped classes: a booking touches
five tables and takes staff time in the same transaction, and explicit statements keep that to a few
round trips.
"""

from __future__ import annotations

import uuid

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSTZRANGE, UUID

metadata = MetaData()


def _tenant() -> Column[uuid.UUID]:
    return Column("tenant_id", UUID(as_uuid=True), primary_key=True)


scheduling_settings = Table(
    "scheduling_settings",
    metadata,
    _tenant(),
    Column("timezone", Text),
    Column("granularity_minutes", Integer),
    Column("min_notice_minutes", Integer),
    Column("horizon_days", Integer),
    Column("business_hours", JSONB),
    Column("cancellation_notice_minutes", Integer),
    Column("max_active_bookings_per_client", Integer),
    Column("follow_up_actions", JSONB),
    Column("version", Integer),
)

staff_members = Table(
    "staff_members",
    metadata,
    _tenant(),
    Column("staff_id", UUID(as_uuid=True), primary_key=True),
    Column("staff_key", BigInteger),
    Column("display_name", Text),
    Column("timezone", Text),
    Column("weekly_hours", JSONB),
    Column("active", Boolean),
    Column("version", Integer),
)

resources = Table(
    "resources",
    metadata,
    _tenant(),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("resource_key", BigInteger),
    Column("name", Text),
    Column("kind", Text),
    Column("capacity", Integer),
    Column("archived", Boolean),
)

services = Table(
    "services",
    metadata,
    _tenant(),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("name", Text),
    Column("description", Text),
    Column("category", Text),
    Column("colour", Text),
    Column("duration_minutes", Integer),
    Column("buffer_before_minutes", Integer),
    Column("buffer_after_minutes", Integer),
    Column("price_minor", BigInteger),
    Column("currency", Text),
    Column("capacity", Integer),
    Column("bookable_online", Boolean),
    Column("granularity_minutes", Integer),
    Column("min_notice_minutes", Integer),
    Column("horizon_days", Integer),
    Column("archived", Boolean),
    Column("version", Integer),
    Column("created_at", DateTime(timezone=True)),
)

service_staff = Table(
    "service_staff",
    metadata,
    _tenant(),
    Column("service_id", UUID(as_uuid=True), primary_key=True),
    Column("staff_id", UUID(as_uuid=True), primary_key=True),
)

service_resources = Table(
    "service_resources",
    metadata,
    _tenant(),
    Column("service_id", UUID(as_uuid=True), primary_key=True),
    Column("resource_id", UUID(as_uuid=True), primary_key=True),
)

schedule_exceptions = Table(
    "schedule_exceptions",
    metadata,
    _tenant(),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("staff_id", UUID(as_uuid=True)),
    Column("day", Date),
    Column("available", Boolean),
    Column("ranges", JSONB),
    Column("label", Text),
)

appointments = Table(
    "appointments",
    metadata,
    _tenant(),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True)),
    Column("status", Text),
    Column("starts_at", DateTime(timezone=True)),
    Column("ends_at", DateTime(timezone=True)),
    Column("timezone", Text),
    Column("notes", Text),
    Column("staff_notes", Text),
    Column("ticket", Text),
    Column("source", Text),
    Column("availability_overridden", Boolean),
    Column("cancellation_reason", Text),
    Column("cancelled_by", Text),
    Column("series_id", UUID(as_uuid=True)),
    Column("occurrence_start", DateTime(timezone=True)),
    Column("follow_up_of", UUID(as_uuid=True)),
    Column("follow_up_action", Text),
    Column("request_id", Text),
    Column("created_by", Text),
    Column("version", Integer),
    Column("created_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True)),
)

time_blocks = Table(
    "time_blocks",
    metadata,
    _tenant(),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("staff_id", UUID(as_uuid=True)),
    Column("staff_key", BigInteger),
    Column("service_id", UUID(as_uuid=True)),
    Column("session_start", DateTime(timezone=True)),
    Column("occupied", TSTZRANGE),
    Column("capacity", Integer),
    Column("seats_taken", Integer),
    Column("released", Boolean),
)

resource_blocks = Table(
    "resource_blocks",
    metadata,
    _tenant(),
    Column("time_block_id", UUID(as_uuid=True), primary_key=True),
    Column("resource_id", UUID(as_uuid=True), primary_key=True),
    Column("unit_key", BigInteger),
    Column("occupied", TSTZRANGE),
    Column("released", Boolean),
)

appointment_segments = Table(
    "appointment_segments",
    metadata,
    _tenant(),
    Column("appointment_id", UUID(as_uuid=True), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("service_id", UUID(as_uuid=True)),
    Column("service_name", Text),
    Column("staff_id", UUID(as_uuid=True)),
    Column("starts_at", DateTime(timezone=True)),
    Column("ends_at", DateTime(timezone=True)),
    Column("seats", Integer),
    Column("price_minor", BigInteger),
    Column("currency", Text),
    Column("buffer_before_minutes", Integer),
    Column("buffer_after_minutes", Integer),
    Column("capacity", Integer),
    Column("resource_ids", ARRAY(UUID(as_uuid=True))),
    Column("time_block_id", UUID(as_uuid=True)),
)

appointment_history = Table(
    "appointment_history",
    metadata,
    _tenant(),
    Column("appointment_id", UUID(as_uuid=True), primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True)),
    Column("actor", Text),
    Column("action", Text),
    Column("changes", JSONB),
)

calendar_feeds = Table(
    "calendar_feeds",
    metadata,
    _tenant(),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("owner_kind", Text),
    Column("owner_id", UUID(as_uuid=True)),
    Column("token_hash", LargeBinary),
    Column("include_cancelled", Boolean),
    Column("created_at", DateTime(timezone=True)),
    Column("created_by", Text),
    Column("revoked_at", DateTime(timezone=True)),
    Column("revoked_by", Text),
)

recurring_series = Table(
    "recurring_series",
    metadata,
    _tenant(),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True)),
    Column("status", Text),
    Column("rrule", Text),
    Column("dtstart_local", DateTime(timezone=False)),
    Column("timezone", Text),
    Column("seats", Integer),
    Column("notes", Text),
    Column("availability_overridden", Boolean),
    Column("materialized_until", DateTime(timezone=True)),
    Column("parent_id", UUID(as_uuid=True)),
    Column("successor_id", UUID(as_uuid=True)),
    Column("request_id", Text),
    Column("created_by", Text),
    Column("version", Integer),
    Column("created_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True)),
)

series_segments = Table(
    "series_segments",
    metadata,
    _tenant(),
    Column("series_id", UUID(as_uuid=True), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("service_id", UUID(as_uuid=True)),
    Column("staff_id", UUID(as_uuid=True)),
)

series_exceptions = Table(
    "series_exceptions",
    metadata,
    _tenant(),
    Column("series_id", UUID(as_uuid=True), primary_key=True),
    Column("occurrence_start", DateTime(timezone=True), primary_key=True),
    Column("kind", Text),
    Column("moved_to", DateTime(timezone=True)),
    Column("reason", Text),
    Column("actor", Text),
    Column("at", DateTime(timezone=True)),
)
