"""An online-booking block may end by itself at an instant (e.g. the billing policy's block after repeated
no-shows); a sweep in the client service lifts it then. Only a block has an end.

Revision ID: 0037
Revises: 0035
"""

from alembic import op

revision = "0037"
down_revision = "0035"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE clients ADD COLUMN online_booking_blocked_until timestamptz")
    op.execute(
        "ALTER TABLE clients ADD CONSTRAINT clients_block_end_needs_block"
        " CHECK (online_booking_blocked_until IS NULL OR online_booking_blocked)"
    )
    op.execute(
        "CREATE INDEX clients_block_ends ON clients (online_booking_blocked_until)"
        " WHERE online_booking_blocked_until IS NOT NULL"
    )


def downgrade() -> None:
    op.execute("DROP INDEX clients_block_ends")
    op.execute("ALTER TABLE clients DROP COLUMN online_booking_blocked_until")
