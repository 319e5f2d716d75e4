"""Custom fields: per-tenant definitions (stable key, type, options, forms, required, order, retired) and
each client's values as JSON.

Revision ID: 0012
Revises: 0011
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        r"""
        CREATE TABLE client_custom_fields (
            tenant_id uuid NOT NULL,
            id uuid NOT NULL,
            key text NOT NULL CHECK (key ~ '^[a-z][a-z0-9_]{0,49}$'),
            label text NOT NULL CHECK (length(btrim(label)) BETWEEN 1 AND 100),
            type text NOT NULL CHECK (type IN ('text', 'long_text', 'number', 'date', 'single_choice',
                'multiple_choice', 'checkbox', 'email', 'phone', 'url')),
            options text[] NOT NULL,
            required boolean NOT NULL,
            forms text[] NOT NULL CHECK (forms <@ ARRAY['staff', 'portal_profile', 'booking_request']::text[]),
            position integer NOT NULL CHECK (position >= 0),
            created_at timestamptz NOT NULL,
            retired_at timestamptz,
            PRIMARY KEY (tenant_id, id),
            -- Keys are forever: import and export read and write values by key, retired fields included.
            CONSTRAINT client_custom_fields_key UNIQUE (tenant_id, key),
            CONSTRAINT client_custom_fields_choices_have_options CHECK (
                (type IN ('single_choice', 'multiple_choice')) = (cardinality(options) BETWEEN 1 AND 100))
        )
        """
    )
    op.execute(
        "CREATE UNIQUE INDEX client_custom_fields_live_label ON client_custom_fields (tenant_id, lower(label)) "
        "WHERE retired_at IS NULL"
    )
    op.execute(
        """
        CREATE TABLE client_custom_values (
            tenant_id uuid NOT NULL,
            client_id uuid NOT NULL,
            field_id uuid NOT NULL,
            value jsonb NOT NULL CHECK (jsonb_typeof(value) IN ('string', 'number', 'boolean', 'array')),
            PRIMARY KEY (tenant_id, client_id, field_id),
            FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, id) ON DELETE CASCADE,
            -- A field is retired, never deleted, so stored values always keep their definition.
            FOREIGN KEY (tenant_id, field_id) REFERENCES client_custom_fields (tenant_id, id)
        )
        """
    )
    op.execute("CREATE INDEX client_custom_values_of_field ON client_custom_values (tenant_id, field_id)")


def downgrade() -> None:
    op.execute("DROP TABLE client_custom_values")
    op.execute("DROP TABLE client_custom_fields")
