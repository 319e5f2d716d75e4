"""Appointments carry the team's notes and a help-desk ticket id (an approved appointment request brings
them), never shown to the client.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE appointments
            ADD COLUMN staff_notes text NOT NULL DEFAULT '' CHECK (length(staff_notes) <= 4000),
            ADD COLUMN ticket text NOT NULL DEFAULT '' CHECK (length(ticket) <= 100)
        """
    )


def downgrade() -> None:
    op.execute("ALTER TABLE appointments DROP COLUMN staff_notes, DROP COLUMN ticket")
