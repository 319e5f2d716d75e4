"""Counter-offers: instead of declining, staff propose one to three other times; the request is `proposed`
until the client accepts one (approved, booked), the hold runs out (expired) or it is cancelled or declined.
The business sets how long a proposal holds.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

STATEMENTS = [
    r"""
    ALTER TABLE appointment_requests
        -- [iso start, ...]: the proposed times, in the order staff gave them.
        ADD COLUMN alternatives jsonb NOT NULL DEFAULT '[]' CHECK (
            jsonb_typeof(alternatives) = 'array' AND jsonb_array_length(alternatives) <= 3
        ),
        ADD COLUMN hold_until timestamptz,
        ADD COLUMN proposal_note text NOT NULL DEFAULT '' CHECK (length(proposal_note) <= 1000),
        ADD COLUMN proposed_technician_id uuid,
        ADD COLUMN proposed_technician_name text NOT NULL DEFAULT ''
            CHECK (length(proposed_technician_name) <= 200)
    """,
    "ALTER TABLE appointment_requests DROP CONSTRAINT appointment_requests_status_check",
    r"""
    ALTER TABLE appointment_requests ADD CONSTRAINT appointment_requests_status_check
        CHECK (status IN ('pending', 'proposed', 'approved', 'declined', 'cancelled', 'expired'))
    """,
    # A proposal names its times and how long they hold; only an open request (pending or proposed) is
    # undecided.
    r"""
    ALTER TABLE appointment_requests
        ADD CONSTRAINT appointment_requests_proposal CHECK (
            status <> 'proposed' OR (jsonb_array_length(alternatives) BETWEEN 1 AND 3 AND hold_until IS NOT NULL)
        ),
        DROP CONSTRAINT appointment_requests_decided,
        ADD CONSTRAINT appointment_requests_decided
            CHECK ((status IN ('pending', 'proposed')) = (decided_at IS NULL))
    """,
    r"""
    CREATE OR REPLACE FUNCTION appointment_requests_status_transition() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.status IS DISTINCT FROM OLD.status AND NOT (
            (OLD.status = 'pending' AND NEW.status IN ('proposed', 'approved', 'declined', 'cancelled', 'expired'))
            OR (OLD.status = 'proposed' AND NEW.status IN ('approved', 'declined', 'cancelled', 'expired'))
            OR (OLD.status = 'approved' AND NEW.status = 'cancelled')
        ) THEN
            RAISE EXCEPTION 'appointment request status cannot change from % to %', OLD.status, NEW.status
                USING ERRCODE = 'check_violation', CONSTRAINT = 'appointment_requests_status_transition';
        END IF;
        -- Only a pending request is edited: what was decided (or answered with a proposal) is what was asked.
        IF OLD.status <> 'pending' AND (
            NEW.service_id IS DISTINCT FROM OLD.service_id OR NEW.options IS DISTINCT FROM OLD.options
            OR NEW.preferred_staff_id IS DISTINCT FROM OLD.preferred_staff_id
        ) THEN
            RAISE EXCEPTION 'a % appointment request cannot be edited', OLD.status
                USING ERRCODE = 'check_violation', CONSTRAINT = 'appointment_requests_status_transition';
        END IF;
        RETURN NEW;
    END
    $$
    """,
    "ALTER TABLE request_history DROP CONSTRAINT request_history_action_check",
    r"""
    ALTER TABLE request_history ADD CONSTRAINT request_history_action_check CHECK (action IN (
        'submitted', 'updated', 'proposed', 'approved', 'declined', 'cancelled', 'expired', 'client_merged',
        'client_unmerged'
    ))
    """,
    # The expiry sweep: a pending request's last preferred time, or a proposal's hold (expires_at).
    "DROP INDEX appointment_requests_expiry",
    "CREATE INDEX appointment_requests_expiry ON appointment_requests (expires_at)"
    " WHERE status IN ('pending', 'proposed')",
    r"""
    ALTER TABLE request_settings ADD COLUMN proposal_hold_minutes integer NOT NULL DEFAULT 2880
        CHECK (proposal_hold_minutes BETWEEN 15 AND 20160)
    """,
]


TRANSITIONS_0002 = r"""
    CREATE OR REPLACE FUNCTION appointment_requests_status_transition() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.status IS DISTINCT FROM OLD.status AND NOT (
            (OLD.status = 'pending' AND NEW.status IN ('approved', 'declined', 'cancelled', 'expired'))
            OR (OLD.status = 'approved' AND NEW.status = 'cancelled')
        ) THEN
            RAISE EXCEPTION 'appointment request status cannot change from % to %', OLD.status, NEW.status
                USING ERRCODE = 'check_violation', CONSTRAINT = 'appointment_requests_status_transition';
        END IF;
        IF OLD.status <> 'pending' AND (
            NEW.service_id IS DISTINCT FROM OLD.service_id OR NEW.options IS DISTINCT FROM OLD.options
            OR NEW.preferred_staff_id IS DISTINCT FROM OLD.preferred_staff_id
        ) THEN
            RAISE EXCEPTION 'a % appointment request cannot be edited', OLD.status
                USING ERRCODE = 'check_violation', CONSTRAINT = 'appointment_requests_status_transition';
        END IF;
        RETURN NEW;
    END
    $$
"""


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    # A proposal not yet answered goes back to the pending request it answered.
    for statement in (
        "ALTER TABLE request_settings DROP COLUMN proposal_hold_minutes",
        "DROP INDEX appointment_requests_expiry",
        "CREATE INDEX appointment_requests_expiry ON appointment_requests (expires_at) WHERE status = 'pending'",
        "DELETE FROM request_history WHERE action = 'proposed'",
        "ALTER TABLE request_history DROP CONSTRAINT request_history_action_check",
        r"""
        ALTER TABLE request_history ADD CONSTRAINT request_history_action_check CHECK (action IN (
            'submitted', 'updated', 'approved', 'declined', 'cancelled', 'expired', 'client_merged', 'client_unmerged'
        ))
        """,
        "ALTER TABLE appointment_requests DISABLE TRIGGER appointment_requests_status_transition",
        r"""
        UPDATE appointment_requests SET status = 'pending',
            expires_at = (SELECT max(coalesce((o ->> 'end')::timestamptz, (o ->> 'start')::timestamptz))
                          FROM jsonb_array_elements(options) o)
        WHERE status = 'proposed'
        """,
        "ALTER TABLE appointment_requests ENABLE TRIGGER appointment_requests_status_transition",
        "ALTER TABLE appointment_requests DROP CONSTRAINT appointment_requests_proposal",
        "ALTER TABLE appointment_requests DROP CONSTRAINT appointment_requests_decided",
        "ALTER TABLE appointment_requests ADD CONSTRAINT appointment_requests_decided"
        " CHECK ((status = 'pending') = (decided_at IS NULL))",
        "ALTER TABLE appointment_requests DROP CONSTRAINT appointment_requests_status_check",
        "ALTER TABLE appointment_requests ADD CONSTRAINT appointment_requests_status_check"
        " CHECK (status IN ('pending', 'approved', 'declined', 'cancelled', 'expired'))",
        "ALTER TABLE appointment_requests DROP COLUMN alternatives, DROP COLUMN hold_until,"
        " DROP COLUMN proposal_note, DROP COLUMN proposed_technician_id, DROP COLUMN proposed_technician_name",
    ):
        op.execute(statement)
    # The transition trigger of revision 0002 again.
    op.execute(TRANSITIONS_0002)
