"""The portal-requests database as SQLAlchemy Core tables (the schema itself is in migrations/)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Integer, MetaData, Table, Text
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
