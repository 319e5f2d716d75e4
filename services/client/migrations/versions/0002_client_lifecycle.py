"""Client lifecycle: soft delete, online-booking block, optimistic version.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE clients
            ADD COLUMN deleted_at timestamptz,
            ADD COLUMN online_booking_blocked boolean NOT NULL DEFAULT false,
            ADD COLUMN version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
            ADD CONSTRAINT clients_deleted_after_created CHECK (deleted_at IS NULL OR deleted_at >= created_at)
        """
    )
    # Lists show live clients, newest first: the common path gets its own index.
    op.execute("CREATE INDEX clients_live ON clients (tenant_id, id DESC) WHERE deleted_at IS NULL")


def downgrade() -> None:
    op.execute("DROP INDEX clients_live")
    op.execute(
        """
        ALTER TABLE clients
            DROP CONSTRAINT clients_deleted_after_created,
            DROP COLUMN version,
            DROP COLUMN online_booking_blocked,
            DROP COLUMN deleted_at
        """
    )
