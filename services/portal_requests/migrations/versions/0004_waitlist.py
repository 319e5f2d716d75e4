"""The waitlist: entries (a client waiting for a service, maybe one staff member, on some days and hours) and
the offers of freed times made to them. A freed time has at most one open offer at a time and an entry at most
one open offer; the business sets how long an offer holds.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

STATEMENTS = [
    r"""
    CREATE TABLE waitlist_entries (
        tenant_id uuid NOT NULL,
        id uuid NOT NULL,
        client_id uuid NOT NULL,
        service_id uuid NOT NULL,
        service_name text NOT NULL CHECK (length(service_name) <= 200),
        duration_minutes integer NOT NULL CHECK (duration_minutes BETWEEN 0 AND 1440),
        staff_id uuid,
        staff_name text NOT NULL DEFAULT '' CHECK (length(staff_name) <= 200),
        -- Days and hours on the client's wall clock (timezone).
        from_date date NOT NULL,
        to_date date NOT NULL,
        window_start time,
        window_end time,
        timezone text NOT NULL CHECK (length(timezone) BETWEEN 1 AND 64),
        business_timezone text NOT NULL CHECK (length(business_timezone) BETWEEN 1 AND 64),
        joined_by text NOT NULL CHECK (joined_by IN ('client', 'staff')),
        status text NOT NULL CHECK (status IN ('waiting', 'offered', 'booked', 'left')),
        version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (tenant_id, id),
        CHECK (from_date <= to_date AND to_date - from_date <= 180),
        CHECK ((window_start IS NULL) = (window_end IS NULL) AND (window_start IS NULL OR window_start < window_end))
    )
    """,
    # Who is first in line for a freed time of a service.
    "CREATE INDEX waitlist_entries_waiting ON waitlist_entries (tenant_id, service_id, created_at, id)"
    " WHERE status = 'waiting'",
    "CREATE INDEX waitlist_entries_by_client ON waitlist_entries (tenant_id, client_id, created_at)",
    r"""
    CREATE TABLE waitlist_offers (
        tenant_id uuid NOT NULL,
        id uuid NOT NULL,
        entry_id uuid NOT NULL,
        service_id uuid NOT NULL,
        staff_id uuid NOT NULL,
        start_at timestamptz NOT NULL,
        end_at timestamptz NOT NULL CHECK (end_at > start_at),
        hold_until timestamptz NOT NULL,
        status text NOT NULL CHECK (status IN ('open', 'accepted', 'expired')),
        appointment_id uuid,
        created_at timestamptz NOT NULL,
        PRIMARY KEY (tenant_id, id),
        FOREIGN KEY (tenant_id, entry_id) REFERENCES waitlist_entries (tenant_id, id),
        CHECK ((status = 'accepted') = (appointment_id IS NOT NULL))
    )
    """,
    # One freed time is offered to one client at a time, and an entry holds one open offer at a time.
    "CREATE UNIQUE INDEX waitlist_offers_one_open_per_time ON waitlist_offers (tenant_id, staff_id, start_at)"
    " WHERE status = 'open'",
    "CREATE UNIQUE INDEX waitlist_offers_one_open_per_entry ON waitlist_offers (tenant_id, entry_id)"
    " WHERE status = 'open'",
    "CREATE INDEX waitlist_offers_by_entry ON waitlist_offers (tenant_id, entry_id, created_at)",
    # Who was offered a freed time already (it passes on to the others).
    "CREATE INDEX waitlist_offers_by_time ON waitlist_offers (tenant_id, staff_id, start_at)",
    "CREATE INDEX waitlist_offers_expiry ON waitlist_offers (hold_until) WHERE status = 'open'",
    r"""
    ALTER TABLE request_settings ADD COLUMN offer_hold_minutes integer NOT NULL DEFAULT 120
        CHECK (offer_hold_minutes BETWEEN 5 AND 2880)
    """,
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("ALTER TABLE request_settings DROP COLUMN offer_hold_minutes")
    op.execute("DROP TABLE waitlist_offers")
    op.execute("DROP TABLE waitlist_entries")
