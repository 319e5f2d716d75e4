"""Tables of the client database and the imperative mapping of the domain model onto them.

The tables state the whole migrated schema (tests/integration/test_schema.py holds them to it): columns,
keys, foreign keys, indexes and server defaults. CHECK and exclusion constraints and triggers are not
restated: they live in migrations/ alone, and a comment at each table names those it has.
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
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import registry, relationship

from client_svc.domain.attachments import Attachment
from client_svc.domain.contact_details import ContactPerson, ContactPoint
from client_svc.domain.custom_fields import CustomField, CustomValue
from client_svc.domain.model import Client, ClientTag, StaffAssignment
from client_svc.domain.notes import Note, NoteRevision
from client_svc.domain.portal import PortalRecord
from client_svc.domain.statuses import ClientStatus
from platform_core.db import DEFAULT_EMPTY, DEFAULT_FALSE, DEFAULT_ONE
from platform_core.messaging.schema import define_tables
from platform_core.orm import map_aggregate

metadata = MetaData()
mapper_registry = registry(metadata=metadata)


def _of_client(*, ondelete: str | None = None) -> ForeignKeyConstraint:
    """A row of one client: it names the client by the tenant-scoped key."""
    return ForeignKeyConstraint(["tenant_id", "client_id"], ["clients.tenant_id", "clients.id"], ondelete=ondelete)


# CHECKs (names, email, phone, kind, address, lengths, erased blank, merged whole): migrations/ only.
clients = Table(
    "clients",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("first_name", Text, nullable=False),
    Column("last_name", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("email", Text),
    Column("phone", Text),
    Column("request_id", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("deleted_at", DateTime(timezone=True)),
    Column("online_booking_blocked", Boolean, nullable=False, server_default=DEFAULT_FALSE),
    Column("online_booking_blocked_until", DateTime(timezone=True)),
    Column("version", Integer, nullable=False, server_default=text("1")),
    Column("status_id", UUID(as_uuid=True)),
    Column("kind", Text, nullable=False, server_default="individual"),
    Column("company_name", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("address_line1", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("address_line2", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("address_city", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("address_region", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("address_postal_code", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("address_country", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("date_of_birth", Date),
    Column("preferred_language", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("timezone", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("source", Text, nullable=False, server_default="staff"),
    Column("default_invoicing_method", Text, nullable=False, server_default="email"),
    Column("opening_balance_minor", BigInteger),
    Column("opening_balance_currency", Text),
    Column("merged_into", UUID(as_uuid=True)),
    Column("merged_at", DateTime(timezone=True)),
    Column("erased_at", DateTime(timezone=True)),
    Column("external_id", Text),  # the id in the system a client was imported from (imports match on it)
    ForeignKeyConstraint(
        ["tenant_id", "status_id"], ["client_statuses.tenant_id", "client_statuses.id"], name="clients_status"
    ),
    ForeignKeyConstraint(["tenant_id", "merged_into"], ["clients.tenant_id", "clients.id"], name="clients_merged_into"),
)
_live = clients.c.deleted_at.is_(None)
_unmerged = clients.c.merged_into.is_(None)
Index(
    "clients_request_id",
    clients.c.tenant_id,
    clients.c.request_id,
    unique=True,
    postgresql_where=clients.c.request_id.isnot(None),
)
Index(
    "clients_external_id",
    clients.c.tenant_id,
    clients.c.external_id,
    unique=True,
    postgresql_where=clients.c.external_id.isnot(None),
)
Index("clients_live", clients.c.tenant_id, clients.c.id.desc(), postgresql_where=_live)
Index("clients_by_status", clients.c.tenant_id, clients.c.status_id, clients.c.id.desc(), postgresql_where=_live)
Index("clients_phone", clients.c.tenant_id, clients.c.phone, postgresql_where=clients.c.phone.isnot(None))
Index(
    "clients_email_prefix",
    clients.c.tenant_id,
    func.lower(clients.c.email).label("lower_email"),
    postgresql_ops={"lower_email": "text_pattern_ops"},
    postgresql_where=clients.c.email.isnot(None),
)
for _name in ("first_name", "last_name"):
    Index(
        f"clients_{_name}_prefix_covering",
        clients.c.tenant_id,
        func.lower(clients.c[_name]).label(f"lower_{_name}"),
        postgresql_ops={f"lower_{_name}": "text_pattern_ops"},
        postgresql_include=["id", "first_name", "last_name", "deleted_at", "merged_into"],
    )
Index(
    "clients_merged_into",
    clients.c.tenant_id,
    clients.c.merged_into,
    postgresql_where=clients.c.merged_into.isnot(None),
)
Index(
    "clients_by_name",
    clients.c.tenant_id,
    func.lower(clients.c.last_name),
    func.lower(clients.c.first_name),
    clients.c.id,
    postgresql_where=_unmerged,
)
Index("clients_by_update", clients.c.tenant_id, clients.c.updated_at, clients.c.id, postgresql_where=_unmerged)
# The sweep that lifts blocks whose end has come.
Index(
    "clients_block_ends",
    clients.c.online_booking_blocked_until,
    postgresql_where=clients.c.online_booking_blocked_until.isnot(None),
)

# CHECKs (counts, within the plan): migrations/ only.
tenant_client_counts = Table(
    "tenant_client_counts",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("live_clients", Integer, nullable=False),
    Column("max_clients", Integer),
)

# CHECKs (label, position, default not archived) and the exclusion constraint client_statuses_one_default
# (one default per tenant, deferred): migrations/ only.
# Bumped by triggers on client_statuses and client_custom_fields (the migration's alone): what creating a
# client reads, cached per replica (adapters/creation_inputs.py).
client_catalogue_versions = Table(
    "client_catalogue_versions",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("version", BigInteger, nullable=False, server_default=DEFAULT_ONE),
)

client_statuses = Table(
    "client_statuses",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("label", Text, nullable=False),
    Column("position", Integer, nullable=False),
    Column("is_default", Boolean, nullable=False, server_default=DEFAULT_FALSE),
    Column("archived_at", DateTime(timezone=True)),
)
Index(
    "client_statuses_live_label",
    client_statuses.c.tenant_id,
    func.lower(client_statuses.c.label),
    unique=True,
    postgresql_where=client_statuses.c.archived_at.is_(None),
)

client_staff_assignments = Table(
    "client_staff_assignments",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), primary_key=True),
    Column("staff_id", UUID(as_uuid=True), primary_key=True),
    Column("assigned_at", DateTime(timezone=True), nullable=False),
    _of_client(),
)
Index(
    "client_staff_by_staff",
    client_staff_assignments.c.tenant_id,
    client_staff_assignments.c.staff_id,
    client_staff_assignments.c.client_id,
)

# CHECK (trimmed, 1 to 40 characters): migrations/ only.
client_tags = Table(
    "client_tags",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), primary_key=True),
    Column("tag", Text, primary_key=True),
    _of_client(),
)
Index(
    "client_tags_unique",
    client_tags.c.tenant_id,
    client_tags.c.client_id,
    func.lower(client_tags.c.tag),
    unique=True,
)
Index("client_tags_by_tag", client_tags.c.tenant_id, func.lower(client_tags.c.tag), client_tags.c.client_id)

# CHECK (trimmed name): migrations/ only.
client_groups = Table(
    "client_groups",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("name", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
Index("client_groups_name", client_groups.c.tenant_id, func.lower(client_groups.c.name), unique=True)


def _of_group() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["tenant_id", "group_id"], ["client_groups.tenant_id", "client_groups.id"], ondelete="CASCADE"
    )


# Read-side only (groups change through set statements in SqlAlchemyGroupRepository).
client_group_members = Table(
    "client_group_members",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("group_id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), primary_key=True),
    Column("added_at", DateTime(timezone=True), nullable=False),
    _of_group(),
    _of_client(),
)
Index("client_group_members_by_client", client_group_members.c.tenant_id, client_group_members.c.client_id)

# The trigger client_group_staff_limit (at most 20 staff per group, deferred): migrations/ only.
client_group_staff = Table(
    "client_group_staff",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("group_id", UUID(as_uuid=True), primary_key=True),
    Column("staff_id", UUID(as_uuid=True), primary_key=True),
    Column("assigned_at", DateTime(timezone=True), nullable=False),
    _of_group(),
)
Index("client_group_staff_by_staff", client_group_staff.c.tenant_id, client_group_staff.c.staff_id)

# CHECKs (kind, value, label, position, E.164 phones) and the exclusion constraint
# client_contact_points_one_primary (one primary per client and kind, deferred): migrations/ only.
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
    _of_client(ondelete="CASCADE"),
    UniqueConstraint(
        "tenant_id",
        "client_id",
        "kind",
        "value",
        name="client_contact_points_value_once",
        deferrable=True,
        initially="DEFERRED",
    ),
)
Index("client_contact_points_of_client", client_contact_points.c.tenant_id, client_contact_points.c.client_id)
Index(
    "client_contact_points_phone",
    client_contact_points.c.tenant_id,
    client_contact_points.c.value,
    postgresql_where=client_contact_points.c.kind == "phone",
)
Index(
    "client_contact_points_email_prefix",
    client_contact_points.c.tenant_id,
    func.lower(client_contact_points.c.value).label("lower_value"),
    postgresql_ops={"lower_value": "text_pattern_ops"},
    postgresql_where=client_contact_points.c.kind == "email",
)

# CHECKs (position, name, role, email, phone): migrations/ only.
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
    _of_client(ondelete="CASCADE"),
)
Index("client_contact_persons_of_client", client_contact_persons.c.tenant_id, client_contact_persons.c.client_id)

# CHECKs (key, label, type, forms, position, choices have options): migrations/ only.
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
    UniqueConstraint("tenant_id", "key", name="client_custom_fields_key"),
)
Index(
    "client_custom_fields_live_label",
    client_custom_fields.c.tenant_id,
    func.lower(client_custom_fields.c.label),
    unique=True,
    postgresql_where=client_custom_fields.c.retired_at.is_(None),
)

# CHECK (JSON kinds a value may be): migrations/ only.
client_custom_values = Table(
    "client_custom_values",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), primary_key=True),
    Column("field_id", UUID(as_uuid=True), primary_key=True),
    Column("value", JSONB, nullable=False),
    _of_client(ondelete="CASCADE"),
    ForeignKeyConstraint(["tenant_id", "field_id"], ["client_custom_fields.tenant_id", "client_custom_fields.id"]),
)
Index("client_custom_values_of_field", client_custom_values.c.tenant_id, client_custom_values.c.field_id)

# CHECKs (filename, content type, size, SHA-256): migrations/ only.
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
    Column("storage_key", Text, nullable=False, unique=True),
    Column("shared_with_client", Boolean, nullable=False),
    Column("uploaded_by", Text, nullable=False),
    Column("uploaded_at", DateTime(timezone=True), nullable=False),
    Column("deleted_at", DateTime(timezone=True)),
    _of_client(ondelete="CASCADE"),
)
Index(
    "client_attachments_of_client",
    client_attachments.c.tenant_id,
    client_attachments.c.client_id,
    client_attachments.c.uploaded_at.desc(),
    postgresql_where=client_attachments.c.deleted_at.is_(None),
)

# CHECKs (kind, an invitation is complete): migrations/ only.
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
    _of_client(ondelete="CASCADE"),
)
Index(
    "client_portal_log_of_client",
    client_portal_log.c.tenant_id,
    client_portal_log.c.client_id,
    client_portal_log.c.recorded_at,
)

client_notes = Table(
    "client_notes",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), nullable=False),
    Column("author_id", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    _of_client(),
)
Index("client_notes_by_client", client_notes.c.tenant_id, client_notes.c.client_id, client_notes.c.id.desc())

# CHECKs (revision from 1, body length): migrations/ only.
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

# Typo-tolerant search (adapters/name_keys.py). Words and keys compare byte-wise (COLLATE "C").
# CHECKs (at least 3 characters): migrations/ only.
client_name_words = Table(
    "client_name_words",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("word", Text(collation="C"), primary_key=True),
    Column("client_id", UUID(as_uuid=True), primary_key=True),
)
tenant_name_keys = Table(
    "tenant_name_keys",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("key", Text(collation="C"), primary_key=True),
    Column("word", Text(collation="C"), primary_key=True),
)

# Imports (adapters/import_store.py). CHECKs (filename, format, status, duplicates, counters that add up,
# mapping as wide as the columns): migrations/ only.
import_jobs = Table(
    "import_jobs",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("created_by", Text, nullable=False),
    Column("filename", Text, nullable=False),
    Column("format", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("file_bytes", BigInteger, nullable=False, server_default=text("0")),
    Column("file_chunks", Integer, nullable=False, server_default=text("0")),
    Column("columns", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("mapping", ARRAY(Text)),
    Column("duplicates", Text, nullable=False, server_default="skip"),
    Column("all_or_nothing", Boolean, nullable=False, server_default=DEFAULT_FALSE),
    Column("default_region", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("max_clients", Integer, nullable=False, server_default=text("0")),
    Column("dry_run", Boolean, nullable=False, server_default=text("true")),
    Column("total_rows", Integer),
    Column("processed_rows", Integer, nullable=False, server_default=text("0")),
    Column("created_rows", Integer, nullable=False, server_default=text("0")),
    Column("updated_rows", Integer, nullable=False, server_default=text("0")),
    Column("unchanged_rows", Integer, nullable=False, server_default=text("0")),
    Column("skipped_rows", Integer, nullable=False, server_default=text("0")),
    Column("rejected_rows", Integer, nullable=False, server_default=text("0")),
    Column("error", Text),
    Column("error_code", Text),
    Column("lease_owner", Text),
    Column("lease_expires_at", DateTime(timezone=True)),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
)
Index(
    "import_jobs_to_run",
    import_jobs.c.lease_expires_at.nulls_first(),
    postgresql_where=import_jobs.c.status.in_(["validating", "running"]),
)
Index("import_jobs_by_tenant", import_jobs.c.tenant_id, import_jobs.c.id.desc())


def _of_import_job() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["tenant_id", "job_id"], ["import_jobs.tenant_id", "import_jobs.id"], ondelete="CASCADE"
    )


# CHECKs (sequence from 0, 1 byte to 4 MiB a chunk): migrations/ only.
import_file_chunks = Table(
    "import_file_chunks",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("job_id", UUID(as_uuid=True), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("data", LargeBinary, nullable=False),
    _of_import_job(),
)

# CHECKs (row from 1, a non-empty JSON array of problems): migrations/ only.
import_problems = Table(
    "import_problems",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("job_id", UUID(as_uuid=True), primary_key=True),
    Column("row_number", Integer, primary_key=True),
    Column("cells", ARRAY(Text), nullable=False),
    Column("problems", JSONB, nullable=False),
    _of_import_job(),
)

# Merges (adapters/merge_repository.py). CHECKs (1 to 10 merged, survivor not among them, undo window,
# unmerge after merge): migrations/ only.
client_merges = Table(
    "client_merges",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("survivor_id", UUID(as_uuid=True), nullable=False),
    Column("merged_ids", ARRAY(UUID(as_uuid=True)), nullable=False),
    Column("merged_at", DateTime(timezone=True), nullable=False),
    Column("undo_until", DateTime(timezone=True), nullable=False),
    Column("merged_by", Text, nullable=False),
    Column("survivor_before", JSONB, nullable=False),
    Column("survivor_after", JSONB, nullable=False),
    Column("fields_taken", JSONB, nullable=False),
    Column("unmerged_at", DateTime(timezone=True)),
    Column("purged_at", DateTime(timezone=True)),
    ForeignKeyConstraint(["tenant_id", "survivor_id"], ["clients.tenant_id", "clients.id"]),
)
Index(
    "client_merges_by_survivor",
    client_merges.c.tenant_id,
    client_merges.c.survivor_id,
    client_merges.c.merged_at.desc(),
)
Index("client_merges_by_merged", client_merges.c.merged_ids, postgresql_using="gin")

client_merge_moves = Table(
    "client_merge_moves",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("merge_id", UUID(as_uuid=True), primary_key=True),
    Column("table_name", Text, primary_key=True),
    Column("row_key", Text, primary_key=True),
    Column("from_client_id", UUID(as_uuid=True), nullable=False),
    ForeignKeyConstraint(["tenant_id", "merge_id"], ["client_merges.tenant_id", "client_merges.id"]),
)

outbox, inbox, parked_messages = define_tables(metadata)


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
