"""The staff of each appointment as last known, so a move that changes them tells the staff member it was
taken from (scheduling's AppointmentRescheduled names only the new staff).

Revision ID: 0042
Revises: 0041
"""

from alembic import op

revision = "0042"
down_revision = "0041"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE appointment_schedule ADD COLUMN staff_ids uuid[] NOT NULL DEFAULT '{}'")


def downgrade() -> None:
    op.execute("ALTER TABLE appointment_schedule DROP COLUMN staff_ids")
