"""Messages as persisted state machines, their attempts, the in-app inbox, and the local copies of what
messages need (clients' contact facts, staff members, the business profile).

Revision ID: 0040
Revises: 0030
"""

from alembic import op

revision = "0040"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Fed by the client service's ClientCreated/ClientUpdated/ClientErased.
    op.execute(
        """
        CREATE TABLE client_contacts (
            tenant_id uuid NOT NULL,
            client_id uuid NOT NULL,
            first_name text NOT NULL DEFAULT '',
            last_name text NOT NULL DEFAULT '',
            email text NOT NULL DEFAULT '',
            phone text NOT NULL DEFAULT '',
            language text NOT NULL DEFAULT '',
            timezone text NOT NULL DEFAULT '',
            updated_at timestamptz NOT NULL,
            PRIMARY KEY (tenant_id, client_id)
        )
        """
    )
    # Fed by the gateway's StaffMemberChanged.
    op.execute(
        """
        CREATE TABLE staff_directory (
            tenant_id uuid NOT NULL,
            staff_id uuid NOT NULL,
            email text NOT NULL DEFAULT '',
            name text NOT NULL DEFAULT '',
            role text NOT NULL DEFAULT '',
            permissions text[] NOT NULL DEFAULT '{}',
            active boolean NOT NULL,
            language text NOT NULL DEFAULT '',
            timezone text NOT NULL DEFAULT '',
            updated_at timestamptz NOT NULL,
            PRIMARY KEY (tenant_id, staff_id)
        )
        """
    )
    op.execute("CREATE INDEX staff_who_may ON staff_directory USING gin (permissions) WHERE active")
    # Fed by the gateway's BusinessProfileChanged.
    op.execute(
        """
        CREATE TABLE business_profiles (
            tenant_id uuid PRIMARY KEY,
            business_name text NOT NULL DEFAULT '',
            timezone text NOT NULL DEFAULT '',
            language text NOT NULL DEFAULT '',
            updated_at timestamptz NOT NULL
        )
        """
    )
    op.execute(
        r"""
        CREATE TABLE messages (
            tenant_id uuid NOT NULL,
            id uuid NOT NULL,
            kind text NOT NULL CHECK (kind ~ '^[a-z_]+(\.[a-z_]+)+$'),
            category text NOT NULL CHECK (category IN ('transactional', 'reminders', 'marketing')),
            channel text NOT NULL CHECK (channel IN ('email', 'sms', 'in_app')),
            recipient_kind text NOT NULL CHECK (recipient_kind IN ('client', 'staff', 'address')),
            recipient_id uuid NOT NULL,
            -- The client a message is about (its timeline, the operators' filter); none for staff-only matters.
            client_id uuid,
            -- The appointment (or request) it is about: a moved or cancelled appointment cancels its reminders.
            subject_id uuid,
            -- Which rule of the source event planned it, e.g. 'request.approved:client'.
            rule text NOT NULL,
            source_event_id uuid NOT NULL,
            -- What the templates are rendered with when the message is sent (never stale).
            variables jsonb NOT NULL,
            -- For recipient_kind 'address' (e.g. a password reset): the address the event named.
            given_address text NOT NULL DEFAULT '',
            status text NOT NULL CHECK (status IN
                ('planned', 'sending', 'sent', 'delivered', 'failed', 'skipped', 'cancelled')),
            due_at timestamptz NOT NULL,
            lease_until timestamptz,
            attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
            max_attempts integer NOT NULL CHECK (max_attempts >= 1),
            to_address text NOT NULL DEFAULT '',
            language text NOT NULL DEFAULT '',
            subject text NOT NULL DEFAULT '',
            last_error text NOT NULL DEFAULT '',
            skip_reason text NOT NULL DEFAULT '',
            -- The provider's id of the sent message (Twilio's MessageSid), matching its delivery reports.
            provider_id text NOT NULL DEFAULT '',
            -- After fallback_after failed attempts on this channel, the message goes by fallback_channel
            -- instead (SMS -> email); never both delivered.
            fallback_channel text NOT NULL DEFAULT '' CHECK (fallback_channel IN ('', 'email')),
            fallback_after integer NOT NULL DEFAULT 0 CHECK (fallback_after >= 0),
            created_at timestamptz NOT NULL,
            sent_at timestamptz,
            updated_at timestamptz NOT NULL,
            PRIMARY KEY (tenant_id, id),
            -- Idempotent per (source event, rule, recipient, channel): a redelivered event or a second
            -- replica plans nothing twice.
            CONSTRAINT messages_once UNIQUE (source_event_id, rule, recipient_id, channel),
            -- A message being sent is leased by one replica; nothing else holds a lease.
            CONSTRAINT messages_lease CHECK ((status = 'sending') = (lease_until IS NOT NULL)),
            CONSTRAINT messages_skip_reason CHECK ((status = 'skipped') = (skip_reason <> '')),
            CONSTRAINT messages_sent_at CHECK (status NOT IN ('sent', 'delivered') OR sent_at IS NOT NULL),
            CONSTRAINT messages_attempts CHECK (attempts <= max_attempts)
        )
        """
    )
    op.execute("CREATE INDEX messages_due ON messages (due_at) WHERE status = 'planned'")
    op.execute("CREATE INDEX messages_leased ON messages (lease_until) WHERE status = 'sending'")
    op.execute("CREATE INDEX messages_by_state ON messages (tenant_id, status, created_at DESC, id DESC)")
    op.execute("CREATE INDEX messages_of_client ON messages (tenant_id, client_id, created_at DESC, id DESC)")
    op.execute("CREATE INDEX messages_by_provider_id ON messages (tenant_id, provider_id) WHERE provider_id <> ''")
    op.execute(
        "CREATE INDEX messages_pending_of_subject ON messages (tenant_id, subject_id) "
        "WHERE status IN ('planned', 'sending')"
    )
    # The allowed transitions, checked again by the schema.
    op.execute(
        """
        CREATE FUNCTION messages_transition() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF OLD.status = NEW.status THEN
                RETURN NEW;
            END IF;
            IF NOT ((OLD.status, NEW.status) IN (
                ('planned', 'sending'), ('planned', 'cancelled'), ('planned', 'skipped'),
                ('sending', 'cancelled'), ('sending', 'sent'), ('sending', 'delivered'), ('sending', 'planned'),
                ('sending', 'failed'),
                ('sending', 'skipped'), ('sent', 'delivered'), ('sent', 'failed'),
                ('failed', 'planned'), ('skipped', 'planned')
            )) THEN
                RAISE EXCEPTION 'message % cannot go from % to %', OLD.id, OLD.status, NEW.status
                    USING ERRCODE = 'check_violation';
            END IF;
            RETURN NEW;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER messages_transition BEFORE UPDATE OF status ON messages "
        "FOR EACH ROW EXECUTE FUNCTION messages_transition()"
    )
    op.execute(
        """
        CREATE TABLE message_attempts (
            tenant_id uuid NOT NULL,
            message_id uuid NOT NULL,
            number integer NOT NULL CHECK (number >= 1),
            channel text NOT NULL,
            at timestamptz NOT NULL,
            outcome text NOT NULL CHECK (outcome IN ('sent', 'failed')),
            error text NOT NULL DEFAULT '',
            PRIMARY KEY (tenant_id, message_id, number),
            FOREIGN KEY (tenant_id, message_id) REFERENCES messages (tenant_id, id) ON DELETE CASCADE
        )
        """
    )
    op.execute(
        """
        CREATE TABLE inbox_notifications (
            tenant_id uuid NOT NULL,
            id uuid NOT NULL,
            audience text NOT NULL CHECK (audience IN ('client', 'staff')),
            recipient_id uuid NOT NULL,
            kind text NOT NULL,
            title text NOT NULL,
            body text NOT NULL,
            created_at timestamptz NOT NULL,
            read_at timestamptz,
            -- The in-app message's own id: one notice per message, whatever retries happen.
            PRIMARY KEY (tenant_id, id),
            FOREIGN KEY (tenant_id, id) REFERENCES messages (tenant_id, id) ON DELETE CASCADE
        )
        """
    )
    op.execute(
        "CREATE INDEX inbox_of_recipient ON inbox_notifications "
        "(tenant_id, audience, recipient_id, created_at DESC, id DESC)"
    )
    op.execute(
        "CREATE INDEX inbox_unread ON inbox_notifications (tenant_id, audience, recipient_id) WHERE read_at IS NULL"
    )

    # Reminder rules: the business's (service_id NULL) and per-service overrides.
    op.execute(
        r"""
        CREATE TABLE reminder_rules (
            tenant_id uuid NOT NULL,
            service_id uuid,
            offsets text[] NOT NULL CHECK (cardinality(offsets) BETWEEN 1 AND 5),
            audiences text[] NOT NULL CHECK (cardinality(audiences) >= 1 AND audiences <@ ARRAY['client', 'staff']),
            channels text[] NOT NULL
                CHECK (cardinality(channels) >= 1 AND channels <@ ARRAY['email', 'sms', 'in_app']),
            sms_fallback_after integer NOT NULL DEFAULT 2 CHECK (sms_fallback_after BETWEEN 1 AND 10),
            quiet_start time,
            quiet_end time,
            updated_at timestamptz NOT NULL,
            CHECK ((quiet_start IS NULL) = (quiet_end IS NULL))
        )
        """
    )
    op.execute(
        "CREATE UNIQUE INDEX reminder_rules_one_per_scope ON reminder_rules "
        "(tenant_id, coalesce(service_id, '00000000-0000-0000-0000-000000000000'))"
    )
    # The newest known start of each appointment (scheduling's events): an older event arriving late
    # plans nothing.
    op.execute(
        """
        CREATE TABLE appointment_schedule (
            tenant_id uuid NOT NULL,
            appointment_id uuid NOT NULL,
            start_at timestamptz NOT NULL,
            cancelled boolean NOT NULL DEFAULT false,
            as_of timestamptz NOT NULL,
            PRIMARY KEY (tenant_id, appointment_id)
        )
        """
    )
    # What a client allows beyond transactional messages (which it always gets): absent means allowed.
    op.execute(
        """
        CREATE TABLE message_preferences (
            tenant_id uuid NOT NULL,
            client_id uuid NOT NULL,
            category text NOT NULL CHECK (category IN ('reminders', 'marketing')),
            channel text NOT NULL CHECK (channel IN ('email', 'sms', 'in_app')),
            allowed boolean NOT NULL,
            updated_at timestamptz NOT NULL,
            PRIMARY KEY (tenant_id, client_id, category, channel)
        )
        """
    )
    # One-click unsubscribe links (RFC 8058): only a SHA-256 of each link's secret is kept.
    op.execute(
        """
        CREATE TABLE unsubscribe_links (
            secret_hash bytea PRIMARY KEY,
            tenant_id uuid NOT NULL,
            client_id uuid NOT NULL,
            category text NOT NULL,
            channel text NOT NULL,
            created_at timestamptz NOT NULL
        )
        """
    )
    # A business's own wording of a message kind in a language (Jinja blocks, checked when saved).
    op.execute(
        r"""
        CREATE TABLE template_overrides (
            tenant_id uuid NOT NULL,
            kind text NOT NULL CHECK (kind ~ '^[a-z_]+(\.[a-z_]+)+$'),
            language text NOT NULL CHECK (language ~ '^[a-z]{2,3}(-[a-z0-9]+)*$'),
            source text NOT NULL CHECK (length(source) BETWEEN 1 AND 20000),
            updated_at timestamptz NOT NULL,
            PRIMARY KEY (tenant_id, kind, language)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE template_overrides")
    op.execute("DROP TABLE unsubscribe_links")
    op.execute("DROP TABLE message_preferences")
    op.execute("DROP TABLE appointment_schedule")
    op.execute("DROP TABLE reminder_rules")
    op.execute("DROP TABLE inbox_notifications")
    op.execute("DROP TABLE message_attempts")
    op.execute("DROP TABLE messages")
    op.execute("DROP FUNCTION messages_transition()")
    op.execute("DROP TABLE business_profiles")
    op.execute("DROP TABLE staff_directory")
    op.execute("DROP TABLE client_contacts")
