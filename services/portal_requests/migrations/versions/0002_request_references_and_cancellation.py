"""Requests as the help centre describes them: a reference per business, what a message or a list row needs
(service, duration, both zones, technician, final time), staff-only internal notes and ticket, the client's
edits, and `cancelled` (final, also after approval) replacing `withdrawn`; the clients' names, emails and
phones kept from the client service; the business's request settings (the ticket link).

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

STATEMENTS = [
    # --- references: REQ-1001, REQ-1002, ... per business, from a counter row taken in the submitting
    # transaction (concurrent submissions of one business queue on it; a unique index holds the rest).
    r"""
    CREATE TABLE request_counters (
        tenant_id uuid PRIMARY KEY,
        last_number integer NOT NULL CHECK (last_number > 1000)
    )
    """,
    "ALTER TABLE appointment_requests ADD COLUMN reference_number integer",
    r"""
    UPDATE appointment_requests a SET reference_number = n.number
    FROM (
        SELECT tenant_id, id, 1000 + row_number() OVER (PARTITION BY tenant_id ORDER BY created_at, id) AS number
        FROM appointment_requests
    ) n
    WHERE a.tenant_id = n.tenant_id AND a.id = n.id
    """,
    r"""
    INSERT INTO request_counters (tenant_id, last_number)
    SELECT tenant_id, max(reference_number) FROM appointment_requests GROUP BY tenant_id
    """,
    "ALTER TABLE appointment_requests ALTER COLUMN reference_number SET NOT NULL",
    "ALTER TABLE appointment_requests ADD CONSTRAINT appointment_requests_reference CHECK (reference_number > 1000)",
    "CREATE UNIQUE INDEX appointment_requests_by_reference ON appointment_requests (tenant_id, reference_number)",
    # --- what list rows and messages show, kept at submission (and edit) so a page is one query.
    r"""
    ALTER TABLE appointment_requests
        ADD COLUMN service_name text NOT NULL DEFAULT '' CHECK (length(service_name) <= 200),
        ADD COLUMN duration_minutes integer NOT NULL DEFAULT 0 CHECK (duration_minutes BETWEEN 0 AND 1440),
        ADD COLUMN business_timezone text NOT NULL DEFAULT '' CHECK (length(business_timezone) <= 64),
        ADD COLUMN preferred_staff_name text NOT NULL DEFAULT '' CHECK (length(preferred_staff_name) <= 200),
        ADD COLUMN channel text NOT NULL DEFAULT 'portal' CHECK (channel IN ('portal', 'staff', 'public')),
        ADD COLUMN technician_id uuid,
        ADD COLUMN technician_name text NOT NULL DEFAULT '' CHECK (length(technician_name) <= 200),
        ADD COLUMN start_at timestamptz,
        ADD COLUMN end_at timestamptz,
        ADD COLUMN internal_notes text NOT NULL DEFAULT '' CHECK (length(internal_notes) <= 4000),
        ADD COLUMN ticket text NOT NULL DEFAULT '' CHECK (length(ticket) <= 100),
        ADD COLUMN cancelled_by text NOT NULL DEFAULT '' CHECK (cancelled_by IN ('', 'client', 'staff')),
        ADD COLUMN cancelled_at timestamptz
    """,
    # Approvals made before this revision recorded their start in the history only.
    r"""
    UPDATE appointment_requests a SET start_at = (h.details ->> 'start')::timestamptz
    FROM request_history h
    WHERE a.status = 'approved' AND h.tenant_id = a.tenant_id AND h.request_id = a.id AND h.action = 'approved'
    """,
    # --- withdrawn becomes cancelled (by the client), in the requests and in their history.
    "ALTER TABLE appointment_requests DROP CONSTRAINT appointment_requests_status_check",
    "ALTER TABLE appointment_requests DISABLE TRIGGER appointment_requests_status_transition",
    r"""
    UPDATE appointment_requests
    SET status = 'cancelled', cancelled_by = 'client', cancelled_at = decided_at
    WHERE status = 'withdrawn'
    """,
    "ALTER TABLE appointment_requests ENABLE TRIGGER appointment_requests_status_transition",
    "ALTER TABLE request_history DROP CONSTRAINT request_history_action_check",
    "UPDATE request_history SET action = 'cancelled' WHERE action = 'withdrawn'",
    r"""
    ALTER TABLE appointment_requests ADD CONSTRAINT appointment_requests_status_check
        CHECK (status IN ('pending', 'approved', 'declined', 'cancelled', 'expired'))
    """,
    # An approved request names its appointment and final start; a cancelled one may still name the
    # appointment it cancelled; no other status has one.
    "ALTER TABLE appointment_requests DROP CONSTRAINT appointment_requests_approved_names_appointment",
    r"""
    ALTER TABLE appointment_requests
        ADD CONSTRAINT appointment_requests_approved_names_appointment
            CHECK (status <> 'approved' OR (appointment_id IS NOT NULL AND start_at IS NOT NULL)),
        ADD CONSTRAINT appointment_requests_appointment_of_decision
            CHECK (appointment_id IS NULL OR status IN ('approved', 'cancelled')),
        ADD CONSTRAINT appointment_requests_cancelled_says_by_whom
            CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL AND cancelled_by <> ''))
    """,
    r"""
    CREATE OR REPLACE FUNCTION appointment_requests_status_transition() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.status IS DISTINCT FROM OLD.status AND NOT (
            (OLD.status = 'pending' AND NEW.status IN ('approved', 'declined', 'cancelled', 'expired'))
            OR (OLD.status = 'approved' AND NEW.status = 'cancelled')
        ) THEN
            RAISE EXCEPTION 'appointment request status cannot change from % to %', OLD.status, NEW.status
                USING ERRCODE = 'check_violation', CONSTRAINT = 'appointment_requests_status_transition';
        END IF;
        -- Only a pending request is edited: what was decided is what was asked.
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
    "DROP TRIGGER appointment_requests_status_transition ON appointment_requests",
    r"""
    CREATE TRIGGER appointment_requests_status_transition
        BEFORE UPDATE OF status, service_id, options, preferred_staff_id ON appointment_requests
        FOR EACH ROW EXECUTE FUNCTION appointment_requests_status_transition()
    """,
    r"""
    ALTER TABLE request_history ADD CONSTRAINT request_history_action_check CHECK (action IN (
        'submitted', 'updated', 'approved', 'declined', 'cancelled', 'expired', 'client_merged', 'client_unmerged'
    ))
    """,
    # The badge's counts per status, read often.
    "CREATE INDEX appointment_requests_by_status ON appointment_requests (tenant_id, status)",
    # --- the clients who asked, as the client service last described them (its events, or its answer at
    # submission time, whichever is newer: as_of).
    r"""
    CREATE TABLE request_clients (
        tenant_id uuid NOT NULL,
        client_id uuid NOT NULL,
        name text NOT NULL CHECK (length(name) <= 400),
        email text NOT NULL DEFAULT '' CHECK (length(email) <= 320),
        phone text NOT NULL DEFAULT '' CHECK (length(phone) <= 40),
        as_of timestamptz NOT NULL,
        PRIMARY KEY (tenant_id, client_id)
    )
    """,
    # --- per business: how a ticket id becomes a link.
    r"""
    CREATE TABLE request_settings (
        tenant_id uuid PRIMARY KEY,
        ticket_url_pattern text NOT NULL DEFAULT '' CHECK (
            ticket_url_pattern = ''
            OR (ticket_url_pattern ~ '^https?://' AND strpos(ticket_url_pattern, '{id}') > 0
                AND length(ticket_url_pattern) <= 500)
        ),
        version integer NOT NULL DEFAULT 1 CHECK (version >= 1)
    )
    """,
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    # Before this revision only a pending request could be called off (withdrawn) and nothing was edited: a
    # cancelled request becomes withdrawn (one cancelled after approval loses the link to its cancelled
    # appointment) and edits leave the history.
    for statement in (
        "DROP TABLE request_settings",
        "DROP TABLE request_clients",
        "DROP INDEX appointment_requests_by_status",
        "ALTER TABLE request_history DROP CONSTRAINT request_history_action_check",
        "DELETE FROM request_history WHERE action = 'updated'",
        "UPDATE request_history SET action = 'withdrawn' WHERE action = 'cancelled'",
        r"""
        ALTER TABLE request_history ADD CONSTRAINT request_history_action_check CHECK (action IN (
            'submitted', 'approved', 'declined', 'withdrawn', 'expired', 'client_merged', 'client_unmerged'
        ))
        """,
        "DROP TRIGGER appointment_requests_status_transition ON appointment_requests",
        "ALTER TABLE appointment_requests DROP CONSTRAINT appointment_requests_status_check,"
        " DROP CONSTRAINT appointment_requests_approved_names_appointment,"
        " DROP CONSTRAINT appointment_requests_appointment_of_decision,"
        " DROP CONSTRAINT appointment_requests_cancelled_says_by_whom",
        "UPDATE appointment_requests SET status = 'withdrawn', appointment_id = NULL,"
        " decided_at = coalesce(decided_at, cancelled_at) WHERE status = 'cancelled'",
        "ALTER TABLE appointment_requests ADD CONSTRAINT appointment_requests_status_check"
        " CHECK (status IN ('pending', 'approved', 'declined', 'withdrawn', 'expired')),"
        " ADD CONSTRAINT appointment_requests_approved_names_appointment"
        " CHECK ((status = 'approved') = (appointment_id IS NOT NULL))",
        r"""
        CREATE OR REPLACE FUNCTION appointment_requests_status_transition() RETURNS trigger LANGUAGE plpgsql AS $$
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
        "CREATE TRIGGER appointment_requests_status_transition BEFORE UPDATE OF status ON appointment_requests"
        " FOR EACH ROW EXECUTE FUNCTION appointment_requests_status_transition()",
        "ALTER TABLE appointment_requests DROP COLUMN service_name, DROP COLUMN duration_minutes,"
        " DROP COLUMN business_timezone, DROP COLUMN preferred_staff_name, DROP COLUMN channel,"
        " DROP COLUMN technician_id, DROP COLUMN technician_name, DROP COLUMN start_at, DROP COLUMN end_at,"
        " DROP COLUMN internal_notes, DROP COLUMN ticket, DROP COLUMN cancelled_by, DROP COLUMN cancelled_at",
        "DROP INDEX appointment_requests_by_reference",
        "ALTER TABLE appointment_requests DROP COLUMN reference_number",
        "DROP TABLE request_counters",
    ):
        op.execute(statement)
