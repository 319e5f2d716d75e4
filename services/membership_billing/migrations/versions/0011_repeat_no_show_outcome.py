"""The repeat-offender rule's outcome: block online booking (as before), or make the client's requests wait for
staff approval, for the rule's days.

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
        "ALTER TABLE cancellation_policies ADD COLUMN repeat_outcome text NOT NULL DEFAULT 'block_online_booking'"
        " CONSTRAINT cancellation_policies_repeat_outcome"
        " CHECK (repeat_outcome IN ('block_online_booking', 'require_approval'))"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE cancellation_policies DROP COLUMN repeat_outcome")
