"""Staff members assigned to clients.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE client_staff_assignments (
            tenant_id uuid NOT NULL,
            client_id uuid NOT NULL,
            staff_id uuid NOT NULL,
            assigned_at timestamptz NOT NULL,
            PRIMARY KEY (tenant_id, client_id, staff_id),
            FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, id)
        )
        """
    )
    # "My clients": a staff member's clients.
    op.execute("CREATE INDEX client_staff_by_staff ON client_staff_assignments (tenant_id, staff_id, client_id)")


def downgrade() -> None:
    op.execute("DROP TABLE client_staff_assignments")
