"""Groups of clients.

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE client_groups (
            tenant_id uuid NOT NULL,
            id uuid NOT NULL,
            name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 80 AND name = btrim(name)),
            created_at timestamptz NOT NULL,
            PRIMARY KEY (tenant_id, id)
        )
        """
    )
    op.execute("CREATE UNIQUE INDEX client_groups_name ON client_groups (tenant_id, lower(name))")
    op.execute(
        """
        CREATE TABLE client_group_members (
            tenant_id uuid NOT NULL,
            group_id uuid NOT NULL,
            client_id uuid NOT NULL,
            added_at timestamptz NOT NULL,
            PRIMARY KEY (tenant_id, group_id, client_id),
            FOREIGN KEY (tenant_id, group_id) REFERENCES client_groups (tenant_id, id) ON DELETE CASCADE,
            FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, id)
        )
        """
    )
    op.execute("CREATE INDEX client_group_members_by_client ON client_group_members (tenant_id, client_id)")


def downgrade() -> None:
    op.execute("DROP TABLE client_group_members")
    op.execute("DROP TABLE client_groups")
