"""Several emails and phones per client (one primary of each kind) and contact persons of businesses.

The primary email and phone stay on ``clients`` too (search, duplicates and older readers use them);
existing ones become each client's primary contact points.

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        r"""
        CREATE TABLE client_contact_points (
            tenant_id uuid NOT NULL,
            id uuid NOT NULL,
            client_id uuid NOT NULL,
            kind text NOT NULL CHECK (kind IN ('email', 'phone')),
            value text NOT NULL CHECK (length(value) BETWEEN 1 AND 254),
            label text NOT NULL CHECK (label IN ('mobile', 'work', 'home', 'other')),
            is_primary boolean NOT NULL,
            position integer NOT NULL CHECK (position BETWEEN 0 AND 99),
            PRIMARY KEY (tenant_id, id),
            FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, id) ON DELETE CASCADE,
            CONSTRAINT client_contact_points_phone_e164 CHECK (kind <> 'phone' OR value ~ '^\+[1-9][0-9]{1,14}$'),
            -- Checked at commit: a change that swaps values or the primary passes through states that
            -- would trip a row-by-row check.
            CONSTRAINT client_contact_points_value_once UNIQUE (tenant_id, client_id, kind, value)
                DEFERRABLE INITIALLY DEFERRED,
            -- At most one primary per client and kind (a partial unique index that can be deferred).
            CONSTRAINT client_contact_points_one_primary
                EXCLUDE USING btree (tenant_id WITH =, client_id WITH =, kind WITH =) WHERE (is_primary)
                DEFERRABLE INITIALLY DEFERRED
        )
        """
    )
    op.execute("CREATE INDEX client_contact_points_of_client ON client_contact_points (tenant_id, client_id)")
    # Search: any phone exactly, any email by prefix.
    op.execute(
        "CREATE INDEX client_contact_points_phone ON client_contact_points (tenant_id, value) WHERE kind = 'phone'"
    )
    op.execute(
        "CREATE INDEX client_contact_points_email_prefix ON client_contact_points "
        "(tenant_id, lower(value) text_pattern_ops) WHERE kind = 'email'"
    )
    op.execute(
        """
        INSERT INTO client_contact_points (tenant_id, id, client_id, kind, value, label, is_primary, position)
        SELECT tenant_id, gen_random_uuid(), id, 'email', email, 'other', true, 0 FROM clients WHERE email IS NOT NULL
        UNION ALL
        SELECT tenant_id, gen_random_uuid(), id, 'phone', phone, 'other', true, 0 FROM clients WHERE phone IS NOT NULL
        """
    )
    op.execute(
        r"""
        CREATE TABLE client_contact_persons (
            tenant_id uuid NOT NULL,
            id uuid NOT NULL,
            client_id uuid NOT NULL,
            position integer NOT NULL CHECK (position BETWEEN 0 AND 99),
            name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
            role text NOT NULL CHECK (length(role) <= 100),
            email text CHECK (length(email) BETWEEN 3 AND 254),
            phone text CHECK (phone ~ '^\+[1-9][0-9]{1,14}$'),
            PRIMARY KEY (tenant_id, id),
            FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, id) ON DELETE CASCADE
        )
        """
    )
    op.execute("CREATE INDEX client_contact_persons_of_client ON client_contact_persons (tenant_id, client_id)")


def downgrade() -> None:
    op.execute("DROP TABLE client_contact_persons")
    op.execute("DROP TABLE client_contact_points")
