"""Appointment requests, their history, the merges that moved them; the messaging tables.

The schema holds the lifecycle: a CHECK lists the statuses and ties each decision to what it needs (an
approved request names its appointment, a declined one its reason, only a pending one is undecided), and
a trigger lets a request leave pending once and never change status again.

Revision ID: 0001
Revises:
"""

from alembic import op

from platform_core.messaging import schema as messaging_schema

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

STATEMENTS = [
    r"""
    CREATE TABLE appointment_requests (
        tenant_id uuid NOT NULL,
        id uuid NOT NULL,
        client_id uuid NOT NULL,
        service_id uuid NOT NULL,
        preferred_staff_id uuid,
        -- [{"start": iso, "end": iso | null}, ...] in the client's order of preference.
        options jsonb NOT NULL CHECK (jsonb_typeof(options) = 'array' AND jsonb_array_length(options) BETWEEN 1 AND 5),
        -- When the last preferred time passes (what the expiry sweep looks for).
        expires_at timestamptz NOT NULL,
        message text NOT NULL DEFAULT '' CHECK (length(message) <= 1000),
        timezone text NOT NULL CHECK (length(timezone) BETWEEN 1 AND 64),
        status text NOT NULL CHECK (status IN ('pending', 'approved', 'declined', 'withdrawn', 'expired')),
        appointment_id uuid,
        decline_reason text NOT NULL DEFAULT '' CHECK (length(decline_reason) <= 1000),
        decided_by text NOT NULL DEFAULT '' CHECK (length(decided_by) <= 100),
        decided_at timestamptz,
        submission_id text CHECK (length(submission_id) BETWEEN 1 AND 200),
        version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (tenant_id, id),
        CONSTRAINT appointment_requests_approved_names_appointment
            CHECK ((status = 'approved') = (appointment_id IS NOT NULL)),
        CONSTRAINT appointment_requests_declined_gives_reason CHECK ((status = 'declined') = (decline_reason <> '')),
        CONSTRAINT appointment_requests_decided CHECK ((status = 'pending') = (decided_at IS NULL))
    )
    """,
    # Idempotent submission: one request per (client, submission id).
    "CREATE UNIQUE INDEX appointment_requests_submission ON appointment_requests (tenant_id, client_id, submission_id)"
    " WHERE submission_id IS NOT NULL",
    # The staff queue (pending, oldest first), a client's requests, and the expiry sweep.
    "CREATE INDEX appointment_requests_pending ON appointment_requests (tenant_id, created_at, id)"
    " WHERE status = 'pending'",
    "CREATE INDEX appointment_requests_by_client ON appointment_requests (tenant_id, client_id, created_at, id)",
    "CREATE INDEX appointment_requests_expiry ON appointment_requests (expires_at) WHERE status = 'pending'",
    r"""
    CREATE FUNCTION appointment_requests_status_transition() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.status IS DISTINCT FROM OLD.status AND NOT (
            OLD.status = 'pending' AND NEW.status IN ('approved', 'declined', 'withdrawn', 'expired')
        ) THEN
            RAISE EXCEPTION 'appointment request status cannot change from % to %', OLD.status, NEW.status
                USING ERRCODE = 'check_violation', CONSTRAINT = 'appointment_requests_status_transition';
        END IF;
        RETURN NEW;
    END
    $$
    """,
    r"""
    CREATE TRIGGER appointment_requests_status_transition BEFORE UPDATE OF status ON appointment_requests
        FOR EACH ROW EXECUTE FUNCTION appointment_requests_status_transition()
    """,
    r"""
    CREATE TABLE request_history (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        tenant_id uuid NOT NULL,
        request_id uuid NOT NULL,
        at timestamptz NOT NULL,
        actor text NOT NULL CHECK (length(actor) BETWEEN 1 AND 100),
        action text NOT NULL CHECK (action IN (
            'submitted', 'approved', 'declined', 'withdrawn', 'expired', 'client_merged', 'client_unmerged'
        )),
        details jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(details) = 'object'),
        FOREIGN KEY (tenant_id, request_id) REFERENCES appointment_requests (tenant_id, id)
    )
    """,
    "CREATE INDEX request_history_by_request ON request_history (tenant_id, request_id, seq)",
    # Requests a client merge re-pointed, so an unmerge can give each back to its original client.
    r"""
    CREATE TABLE client_merge_moves (
        tenant_id uuid NOT NULL,
        merge_id uuid NOT NULL,
        record_kind text NOT NULL CHECK (record_kind = 'request'),
        record_id uuid NOT NULL,
        original_client_id uuid NOT NULL,
        PRIMARY KEY (tenant_id, merge_id, record_kind, record_id)
    )
    """,
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
    messaging_schema.create_v1(op)


def downgrade() -> None:
    messaging_schema.drop_v1(op)
    for table in ("client_merge_moves", "request_history", "appointment_requests"):
        op.execute(f"DROP TABLE {table}")
    op.execute("DROP FUNCTION appointment_requests_status_transition()")
