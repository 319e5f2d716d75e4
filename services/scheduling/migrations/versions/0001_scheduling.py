"""Catalogue, staff schedules, resources, appointments; the messaging tables.

The database itself refuses a double booking: every booked stretch of a staff member's time (buffers
included) is a row of time_blocks, and an exclusion constraint keeps one staff member's live blocks from
overlapping. Group sessions are one block whose seats are counted against its capacity by a CHECK, so
concurrent joins serialize on the row and never overfill it. Required resources take one unit each
through resource_blocks, excluded the same way per unit. (Core PostgreSQL only: the staff key is a
one-point int8range so gist can compare it without btree_gist.)

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
    CREATE TABLE scheduling_settings (
        tenant_id uuid PRIMARY KEY,
        timezone text NOT NULL CHECK (length(timezone) BETWEEN 1 AND 64),
        granularity_minutes integer NOT NULL CHECK (granularity_minutes BETWEEN 5 AND 240),
        min_notice_minutes integer NOT NULL CHECK (min_notice_minutes BETWEEN 0 AND 525600),
        horizon_days integer NOT NULL CHECK (horizon_days BETWEEN 1 AND 730),
        business_hours jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(business_hours) = 'object'),
        cancellation_notice_minutes integer NOT NULL DEFAULT 0 CHECK (cancellation_notice_minutes >= 0),
        max_active_bookings_per_client integer NOT NULL DEFAULT 0 CHECK (max_active_bookings_per_client >= 0),
        follow_up_actions jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(follow_up_actions) = 'array'),
        version integer NOT NULL DEFAULT 1
    )
    """,
    r"""
    CREATE TABLE staff_members (
        tenant_id uuid NOT NULL,
        staff_id uuid NOT NULL,
        staff_key bigint GENERATED ALWAYS AS IDENTITY,
        display_name text NOT NULL DEFAULT '' CHECK (length(display_name) <= 100),
        timezone text NOT NULL CHECK (length(timezone) BETWEEN 1 AND 64),
        weekly_hours jsonb NOT NULL CHECK (jsonb_typeof(weekly_hours) = 'object'),
        active boolean NOT NULL DEFAULT true,
        version integer NOT NULL DEFAULT 1,
        PRIMARY KEY (tenant_id, staff_id),
        UNIQUE (staff_key),
        UNIQUE (tenant_id, staff_id, staff_key)
    )
    """,
    r"""
    CREATE TABLE resources (
        tenant_id uuid NOT NULL,
        id uuid NOT NULL,
        resource_key bigint GENERATED ALWAYS AS IDENTITY,
        name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
        kind text NOT NULL CHECK (kind IN ('room', 'equipment')),
        capacity integer NOT NULL CHECK (capacity BETWEEN 1 AND 999),
        archived boolean NOT NULL DEFAULT false,
        PRIMARY KEY (tenant_id, id),
        UNIQUE (resource_key)
    )
    """,
    "CREATE UNIQUE INDEX resources_live_name ON resources (tenant_id, lower(name)) WHERE NOT archived",
    r"""
    CREATE TABLE services (
        tenant_id uuid NOT NULL,
        id uuid NOT NULL,
        name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
        description text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
        category text NOT NULL DEFAULT '' CHECK (length(category) <= 60),
        colour text NOT NULL DEFAULT '' CHECK (colour = '' OR colour ~ '^#[0-9a-f]{6}$'),
        duration_minutes integer NOT NULL CHECK (duration_minutes BETWEEN 5 AND 1440),
        buffer_before_minutes integer NOT NULL DEFAULT 0 CHECK (buffer_before_minutes BETWEEN 0 AND 480),
        buffer_after_minutes integer NOT NULL DEFAULT 0 CHECK (buffer_after_minutes BETWEEN 0 AND 480),
        price_minor bigint NOT NULL CHECK (price_minor >= 0),
        currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
        capacity integer NOT NULL CHECK (capacity BETWEEN 1 AND 1000),
        bookable_online boolean NOT NULL DEFAULT true,
        granularity_minutes integer CHECK (granularity_minutes BETWEEN 5 AND 240),
        min_notice_minutes integer CHECK (min_notice_minutes BETWEEN 0 AND 525600),
        horizon_days integer CHECK (horizon_days BETWEEN 1 AND 730),
        archived boolean NOT NULL DEFAULT false,
        version integer NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL,
        PRIMARY KEY (tenant_id, id)
    )
    """,
    "CREATE UNIQUE INDEX services_live_name ON services (tenant_id, lower(name)) WHERE NOT archived",
    r"""
    CREATE TABLE service_staff (
        tenant_id uuid NOT NULL,
        service_id uuid NOT NULL,
        staff_id uuid NOT NULL,
        PRIMARY KEY (tenant_id, service_id, staff_id),
        FOREIGN KEY (tenant_id, service_id) REFERENCES services (tenant_id, id) ON DELETE CASCADE,
        FOREIGN KEY (tenant_id, staff_id) REFERENCES staff_members (tenant_id, staff_id)
    )
    """,
    "CREATE INDEX service_staff_by_staff ON service_staff (tenant_id, staff_id)",
    r"""
    CREATE TABLE service_resources (
        tenant_id uuid NOT NULL,
        service_id uuid NOT NULL,
        resource_id uuid NOT NULL,
        PRIMARY KEY (tenant_id, service_id, resource_id),
        FOREIGN KEY (tenant_id, service_id) REFERENCES services (tenant_id, id) ON DELETE CASCADE,
        FOREIGN KEY (tenant_id, resource_id) REFERENCES resources (tenant_id, id)
    )
    """,
    r"""
    CREATE TABLE schedule_exceptions (
        tenant_id uuid NOT NULL,
        id uuid NOT NULL,
        staff_id uuid,  -- NULL: the whole business (a holiday, special opening hours)
        day date NOT NULL,
        available boolean NOT NULL,
        ranges jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(ranges) = 'array'),
        label text NOT NULL DEFAULT '' CHECK (length(label) <= 100),
        PRIMARY KEY (tenant_id, id),
        FOREIGN KEY (tenant_id, staff_id) REFERENCES staff_members (tenant_id, staff_id),
        -- Extra hours name their hours; time off without hours is the whole day.
        CHECK (NOT available OR jsonb_array_length(ranges) > 0)
    )
    """,
    "CREATE INDEX schedule_exceptions_by_day ON schedule_exceptions (tenant_id, staff_id, day)",
    r"""
    CREATE TABLE appointments (
        tenant_id uuid NOT NULL,
        id uuid NOT NULL,
        client_id uuid NOT NULL,
        status text NOT NULL CHECK (status IN ('booked', 'completed', 'cancelled', 'no_show')),
        starts_at timestamptz NOT NULL,
        ends_at timestamptz NOT NULL,
        timezone text NOT NULL CHECK (length(timezone) BETWEEN 1 AND 64),
        notes text NOT NULL DEFAULT '' CHECK (length(notes) <= 4000),
        source text NOT NULL CHECK (source IN ('staff', 'portal_request', 'portal', 'series')),
        availability_overridden boolean NOT NULL DEFAULT false,
        cancellation_reason text NOT NULL DEFAULT '' CHECK (length(cancellation_reason) <= 500),
        cancelled_by text CHECK (cancelled_by IN ('staff', 'client')),
        series_id uuid,
        occurrence_start timestamptz,
        follow_up_of uuid,
        follow_up_action text NOT NULL DEFAULT '' CHECK (length(follow_up_action) <= 40),
        request_id text CHECK (length(request_id) BETWEEN 1 AND 200),
        created_by text NOT NULL,
        version integer NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (tenant_id, id),
        CHECK (ends_at > starts_at),
        CHECK ((status = 'cancelled') = (cancelled_by IS NOT NULL)),
        CHECK ((series_id IS NULL) = (occurrence_start IS NULL)),
        CHECK ((follow_up_of IS NULL) = (follow_up_action = '')),
        FOREIGN KEY (tenant_id, follow_up_of) REFERENCES appointments (tenant_id, id)
    )
    """,
    "CREATE UNIQUE INDEX appointments_request_id ON appointments (tenant_id, request_id) WHERE request_id IS NOT NULL",
    # One appointment per occurrence of a series: editing or re-materializing never duplicates one.
    "CREATE UNIQUE INDEX appointments_occurrence ON appointments (tenant_id, series_id, occurrence_start)"
    " WHERE series_id IS NOT NULL",
    "CREATE INDEX appointments_by_client ON appointments (tenant_id, client_id, starts_at DESC)",
    "CREATE INDEX appointments_by_start ON appointments (tenant_id, starts_at)",
    # Allowed status changes, held by the schema: booked -> completed | cancelled | no_show, and a no-show
    # corrected back to booked or completed. Completed and cancelled appointments are final.
    r"""
    CREATE FUNCTION appointments_status_transition() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.status IS DISTINCT FROM OLD.status AND NOT (
            (OLD.status = 'booked' AND NEW.status IN ('completed', 'cancelled', 'no_show'))
            OR (OLD.status = 'no_show' AND NEW.status IN ('booked', 'completed'))
        ) THEN
            RAISE EXCEPTION 'appointment status cannot change from % to %', OLD.status, NEW.status
                USING ERRCODE = 'check_violation', CONSTRAINT = 'appointments_status_transition';
        END IF;
        RETURN NEW;
    END
    $$
    """,
    r"""
    CREATE TRIGGER appointments_status_transition BEFORE UPDATE OF status ON appointments
        FOR EACH ROW EXECUTE FUNCTION appointments_status_transition()
    """,
    r"""
    CREATE TABLE time_blocks (
        tenant_id uuid NOT NULL,
        id uuid NOT NULL,
        staff_id uuid NOT NULL,
        staff_key bigint NOT NULL,
        service_id uuid NOT NULL,
        -- The session's start without buffers: group bookings join the block with the same start.
        session_start timestamptz NOT NULL,
        occupied tstzrange NOT NULL
            CHECK (NOT isempty(occupied) AND NOT lower_inf(occupied) AND NOT upper_inf(occupied)),
        capacity integer NOT NULL CHECK (capacity >= 1),
        seats_taken integer NOT NULL,
        released boolean NOT NULL DEFAULT false,
        PRIMARY KEY (tenant_id, id),
        CONSTRAINT time_blocks_seats_within_capacity CHECK (seats_taken BETWEEN 0 AND capacity),
        CONSTRAINT time_blocks_released_when_empty CHECK (released = (seats_taken = 0)),
        FOREIGN KEY (tenant_id, staff_id, staff_key) REFERENCES staff_members (tenant_id, staff_id, staff_key),
        CONSTRAINT time_blocks_no_overlap EXCLUDE USING gist (
            int8range(staff_key, staff_key, '[]') WITH =, occupied WITH &&
        ) WHERE (NOT released)
    )
    """,
    "CREATE INDEX time_blocks_session ON time_blocks (tenant_id, staff_id, service_id, session_start)"
    " WHERE NOT released",
    r"""
    CREATE TABLE resource_blocks (
        tenant_id uuid NOT NULL,
        time_block_id uuid NOT NULL,
        resource_id uuid NOT NULL,
        -- resource_key * 1000 + unit number: one key per usable unit of the resource.
        unit_key bigint NOT NULL,
        occupied tstzrange NOT NULL,
        released boolean NOT NULL DEFAULT false,
        PRIMARY KEY (tenant_id, time_block_id, resource_id),
        FOREIGN KEY (tenant_id, time_block_id) REFERENCES time_blocks (tenant_id, id),
        FOREIGN KEY (tenant_id, resource_id) REFERENCES resources (tenant_id, id),
        CONSTRAINT resource_blocks_no_overlap EXCLUDE USING gist (
            int8range(unit_key, unit_key, '[]') WITH =, occupied WITH &&
        ) WHERE (NOT released)
    )
    """,
    r"""
    CREATE TABLE appointment_segments (
        tenant_id uuid NOT NULL,
        appointment_id uuid NOT NULL,
        position integer NOT NULL CHECK (position >= 0),
        service_id uuid NOT NULL,
        service_name text NOT NULL,
        staff_id uuid NOT NULL,
        starts_at timestamptz NOT NULL,
        ends_at timestamptz NOT NULL,
        seats integer NOT NULL CHECK (seats >= 1),
        price_minor bigint NOT NULL CHECK (price_minor >= 0),
        currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
        -- The service's terms at booking time: a later change to the service does not move this booking.
        buffer_before_minutes integer NOT NULL CHECK (buffer_before_minutes >= 0),
        buffer_after_minutes integer NOT NULL CHECK (buffer_after_minutes >= 0),
        capacity integer NOT NULL CHECK (capacity >= 1),
        resource_ids uuid[] NOT NULL DEFAULT '{}',
        time_block_id uuid NOT NULL,
        PRIMARY KEY (tenant_id, appointment_id, position),
        CHECK (ends_at > starts_at),
        FOREIGN KEY (tenant_id, appointment_id) REFERENCES appointments (tenant_id, id) ON DELETE CASCADE,
        FOREIGN KEY (tenant_id, time_block_id) REFERENCES time_blocks (tenant_id, id)
    )
    """,
    "CREATE INDEX appointment_segments_by_staff ON appointment_segments (tenant_id, staff_id, starts_at)",
    r"""
    CREATE TABLE appointment_history (
        tenant_id uuid NOT NULL,
        appointment_id uuid NOT NULL,
        seq bigint GENERATED ALWAYS AS IDENTITY,
        at timestamptz NOT NULL,
        actor text NOT NULL,
        action text NOT NULL,
        changes jsonb NOT NULL DEFAULT '{}',
        PRIMARY KEY (tenant_id, appointment_id, seq),
        FOREIGN KEY (tenant_id, appointment_id) REFERENCES appointments (tenant_id, id) ON DELETE CASCADE
    )
    """,
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
    messaging_schema.create_v1(op)


def downgrade() -> None:
    messaging_schema.drop_v1(op)
    for table in (
        "appointment_history",
        "appointment_segments",
        "resource_blocks",
        "time_blocks",
        "appointments",
        "schedule_exceptions",
        "service_resources",
        "service_staff",
        "services",
        "resources",
        "staff_members",
        "scheduling_settings",
    ):
        op.execute(f"DROP TABLE {table}")
    op.execute("DROP FUNCTION appointments_status_transition()")
