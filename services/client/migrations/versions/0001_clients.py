"""Clients (first slice) and the messaging tables.

Revision ID: 0001
Revises:
"""

from alembic import op

from platform_core.messaging import schema as messaging_schema

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        r"""
        CREATE TABLE clients (
            tenant_id uuid NOT NULL,
            id uuid NOT NULL,
            first_name text NOT NULL CHECK (length(btrim(first_name)) BETWEEN 1 AND 100),
            last_name text NOT NULL DEFAULT '' CHECK (length(last_name) <= 100),
            email text CHECK (length(email) BETWEEN 3 AND 254 AND position('@' IN email) > 1),
            phone text CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
            request_id text CHECK (length(request_id) BETWEEN 1 AND 200),
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL CHECK (updated_at >= created_at),
            -- Every lookup is tenant-scoped: the key itself carries the tenant.
            PRIMARY KEY (tenant_id, id)
        )
        """
    )
    # Idempotent creation: one client per tenant and request id.
    op.execute("CREATE UNIQUE INDEX clients_request_id ON clients (tenant_id, request_id) WHERE request_id IS NOT NULL")
    messaging_schema.create_v1(op)


def downgrade() -> None:
    messaging_schema.drop_v1(op)
    op.execute("DROP TABLE clients")
