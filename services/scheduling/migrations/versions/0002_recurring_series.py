"""Recurring appointment series: the rule and what each occurrence books, and the occurrences that differ.

Occurrences themselves are appointments (source 'series') linked by series_id and occurrence_start; the unique
index appointments_occurrence (0001) keeps one appointment per occurrence, and the foreign key added here keeps
every such link pointing at a series. The extender of the rolling horizon finds due series through
recurring_series_due and takes each with FOR UPDATE SKIP LOCKED, so replicas never extend the same one at once.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

STATEMENTS = [
    r"""
    CREATE TABLE recurring_series (
        tenant_id uuid NOT NULL,
        id uuid NOT NULL,
        client_id uuid NOT NULL,
        status text NOT NULL CHECK (status IN ('active', 'ended', 'cancelled')),
        -- Canonical RFC 5545 RRULE value (UNTIL in UTC), expanded from dtstart_local on the clock of timezone.
        rrule text NOT NULL CHECK (length(rrule) BETWEEN 6 AND 500 AND rrule LIKE 'FREQ=%'),
        dtstart_local timestamp NOT NULL,
        timezone text NOT NULL CHECK (length(timezone) BETWEEN 1 AND 64),
        seats integer NOT NULL CHECK (seats >= 1),
        notes text NOT NULL DEFAULT '' CHECK (length(notes) <= 4000),
        availability_overridden boolean NOT NULL DEFAULT false,
        -- Every occurrence starting before this instant has been booked, skipped or recorded as an exception.
        materialized_until timestamptz NOT NULL,
        parent_id uuid,
        successor_id uuid,
        request_id text CHECK (length(request_id) BETWEEN 1 AND 200),
        created_by text NOT NULL,
        version integer NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (tenant_id, id),
        FOREIGN KEY (tenant_id, parent_id) REFERENCES recurring_series (tenant_id, id),
        -- An edit of "this and following" ends a series before an occurrence and continues it in a successor.
        FOREIGN KEY (tenant_id, successor_id) REFERENCES recurring_series (tenant_id, id)
            DEFERRABLE INITIALLY DEFERRED
    )
    """,
    "CREATE UNIQUE INDEX recurring_series_request_id ON recurring_series (tenant_id, request_id)"
    " WHERE request_id IS NOT NULL",
    "CREATE INDEX recurring_series_by_client ON recurring_series (tenant_id, client_id, created_at DESC)",
    "CREATE INDEX recurring_series_due ON recurring_series (materialized_until) WHERE status = 'active'",
    r"""
    CREATE TABLE series_segments (
        tenant_id uuid NOT NULL,
        series_id uuid NOT NULL,
        position integer NOT NULL CHECK (position BETWEEN 0 AND 5),
        service_id uuid NOT NULL,
        staff_id uuid,  -- NULL: any qualified staff member free at each occurrence
        PRIMARY KEY (tenant_id, series_id, position),
        FOREIGN KEY (tenant_id, series_id) REFERENCES recurring_series (tenant_id, id) ON DELETE CASCADE,
        FOREIGN KEY (tenant_id, service_id) REFERENCES services (tenant_id, id),
        FOREIGN KEY (tenant_id, staff_id) REFERENCES staff_members (tenant_id, staff_id)
    )
    """,
    r"""
    CREATE TABLE series_exceptions (
        tenant_id uuid NOT NULL,
        series_id uuid NOT NULL,
        occurrence_start timestamptz NOT NULL,
        kind text NOT NULL CHECK (kind IN ('skipped', 'shifted', 'cancelled')),
        moved_to timestamptz,
        reason text NOT NULL DEFAULT '' CHECK (length(reason) <= 500),
        actor text NOT NULL,
        at timestamptz NOT NULL,
        PRIMARY KEY (tenant_id, series_id, occurrence_start),
        FOREIGN KEY (tenant_id, series_id) REFERENCES recurring_series (tenant_id, id) ON DELETE CASCADE,
        CHECK ((kind = 'shifted') = (moved_to IS NOT NULL))
    )
    """,
    "ALTER TABLE appointments ADD CONSTRAINT appointments_series_fkey"
    " FOREIGN KEY (tenant_id, series_id) REFERENCES recurring_series (tenant_id, id)",
    # Occurrences of a series, and only they, say so as their source.
    "ALTER TABLE appointments ADD CONSTRAINT appointments_series_source"
    " CHECK ((source = 'series') = (series_id IS NOT NULL))",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("ALTER TABLE appointments DROP CONSTRAINT appointments_series_source")
    op.execute("ALTER TABLE appointments DROP CONSTRAINT appointments_series_fkey")
    for table in ("series_exceptions", "series_segments", "recurring_series"):
        op.execute(f"DROP TABLE {table}")
