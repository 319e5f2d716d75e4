"""Tables of the client database and the imperative mapping of the domain model onto them."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Date, DateTime, ForeignKeyConstraint, Integer, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import registry, relationship

from client_svc.domain.attachments import Attachment
from client_svc.domain.contact_details import ContactPerson, ContactPoint
from client_svc.domain.custom_fields import CustomField, CustomValue
from client_svc.domain.model import Client, ClientTag, StaffAssignment
from client_svc.domain.notes import Note, NoteRevision
from client_svc.domain.portal import PortalRecord
from client_svc.domain.statuses import ClientStatus
from platform_core.orm import map_aggregate

metadata = MetaData()
mapper_registry = registry(metadata=metadata)

clients = Table(
    "clients",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("first_name", Text, nullable=False),
    Column("last_name", Text, nullable=False),
    Column("email", Text),
    Column("phone", Text),
    Column("request_id", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("deleted_at", DateTime(timezone=True)),
    Column("online_booking_blocked", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
    Column("status_id", UUID(as_uuid=True)),
    Column("kind", Text, nullable=False),
    Column("company_name", Text, nullable=False),
    Column("address_line1", Text, nullable=False),
    Column("address_line2", Text, nullable=False),
    Column("address_city", Text, nullable=False),
    Column("address_region", Text, nullable=False),
    Column("address_postal_code", Text, nullable=False),
    Column("address_country", Text, nullable=False),
    Column("date_of_birth", Date),
    Column("preferred_language", Text, nullable=False),
    Column("timezone", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("default_invoicing_method", Text, nullable=False),
    Column("opening_balance_minor", BigInteger),
    Column("opening_balance_currency", Text),
    Column("merged_into", UUID(as_uuid=True)),
    Column("merged_at", DateTime(timezone=True)),
    Column("erased_at", DateTime(timezone=True)),
    Column("external_id", Text),  # the id in the system a client was imported from (imports match on it)
)

client_statuses = Table(
    "client_statuses",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("label", Text, nullable=False),
    Column("position", Integer, nullable=False),
    Column("is_default", Boolean, nullable=False),
    Column("archived_at", DateTime(timezone=True)),
)


client_staff_assignments = Table(
    "client_staff_assignments",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), primary_key=True),
    Column("staff_id", UUID(as_uuid=True), primary_key=True),
    Column("assigned_at", DateTime(timezone=True), nullable=False),
    ForeignKeyConstraint(["tenant_id", "client_id"], ["clients.tenant_id", "clients.id"]),
)

client_tags = Table(
    "client_tags",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), primary_key=True),
    Column("tag", Text, primary_key=True),
    ForeignKeyConstraint(["tenant_id", "client_id"], ["clients.tenant_id", "clients.id"]),
)

client_contact_points = Table(
    "client_contact_points",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), nullable=False),
    Column("kind", Text, nullable=False),
    Column("value", Text, nullable=False),
    Column("label", Text, nullable=False),
    Column("is_primary", Boolean, nullable=False),
    Column("position", Integer, nullable=False),
    ForeignKeyConstraint(["tenant_id", "client_id"], ["clients.tenant_id", "clients.id"]),
)

client_contact_persons = Table(
    "client_contact_persons",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), nullable=False),
    Column("position", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("email", Text),
    Column("phone", Text),
    ForeignKeyConstraint(["tenant_id", "client_id"], ["clients.tenant_id", "clients.id"]),
)

client_custom_fields = Table(
    "client_custom_fields",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("key", Text, nullable=False),
    Column("label", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("options", ARRAY(Text), nullable=False),
    Column("required", Boolean, nullable=False),
    Column("forms", ARRAY(Text), nullable=False),
    Column("position", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("retired_at", DateTime(timezone=True)),
)

client_custom_values = Table(
    "client_custom_values",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), primary_key=True),
    Column("field_id", UUID(as_uuid=True), primary_key=True),
    Column("value", JSONB, nullable=False),
    ForeignKeyConstraint(["tenant_id", "client_id"], ["clients.tenant_id", "clients.id"]),
)

client_attachments = Table(
    "client_attachments",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), nullable=False),
    Column("filename", Text, nullable=False),
    Column("content_type", Text, nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("storage_key", Text, nullable=False),
    Column("shared_with_client", Boolean, nullable=False),
    Column("uploaded_by", Text, nullable=False),
    Column("uploaded_at", DateTime(timezone=True), nullable=False),
    Column("deleted_at", DateTime(timezone=True)),
)

client_portal_log = Table(
    "client_portal_log",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), nullable=False),
    Column("kind", Text, nullable=False),
    Column("email", Text),
    Column("expires_at", DateTime(timezone=True)),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

# Read-side only (groups change through set statements in SqlAlchemyGroupRepository).
client_group_members = Table(
    "client_group_members",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("group_id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), primary_key=True),
    Column("added_at", DateTime(timezone=True), nullable=False),
)

client_group_staff = Table(
    "client_group_staff",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("group_id", UUID(as_uuid=True), primary_key=True),
    Column("staff_id", UUID(as_uuid=True), primary_key=True),
    Column("assigned_at", DateTime(timezone=True), nullable=False),
)

client_notes = Table(
    "client_notes",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), nullable=False),
    Column("author_id", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

client_note_revisions = Table(
    "client_note_revisions",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("note_id", UUID(as_uuid=True), primary_key=True),
    Column("revision", Integer, primary_key=True),
    Column("body", Text, nullable=False),
    Column("edited_by", Text, nullable=False),
    Column("edited_at", DateTime(timezone=True), nullable=False),
    ForeignKeyConstraint(["tenant_id", "note_id"], ["client_notes.tenant_id", "client_notes.id"]),
)


def start_mappers() -> None:
    map_aggregate(mapper_registry, StaffAssignment, client_staff_assignments)
    map_aggregate(mapper_registry, ClientTag, client_tags)
    map_aggregate(mapper_registry, ContactPoint, client_contact_points)
    map_aggregate(mapper_registry, ContactPerson, client_contact_persons)
    map_aggregate(mapper_registry, CustomValue, client_custom_values)
    map_aggregate(mapper_registry, CustomField, client_custom_fields)
    map_aggregate(mapper_registry, Attachment, client_attachments)
    map_aggregate(mapper_registry, PortalRecord, client_portal_log)
    map_aggregate(
        mapper_registry,
        Client,
        clients,
        version_column="version",
        properties={
            "assignments": relationship(StaffAssignment, lazy="selectin", cascade="all, delete-orphan"),
            "tag_rows": relationship(ClientTag, lazy="selectin", cascade="all, delete-orphan"),
            "contact_points": relationship(ContactPoint, lazy="selectin", cascade="all, delete-orphan"),
            "contact_persons": relationship(ContactPerson, lazy="selectin", cascade="all, delete-orphan"),
            "custom_values": relationship(CustomValue, lazy="selectin", cascade="all, delete-orphan"),
        },
    )
    map_aggregate(mapper_registry, ClientStatus, client_statuses)
    map_aggregate(mapper_registry, NoteRevision, client_note_revisions)
    map_aggregate(
        mapper_registry,
        Note,
        client_notes,
        # Revisions load with their note (no lazy loading under asyncio) and are saved with it.
        properties={
            "revisions": relationship(
                NoteRevision, order_by=client_note_revisions.c.revision, lazy="selectin", cascade="all"
            )
        },
    )
