"""Each appointment's follow-up action (call, email, sms...) as scheduling booked it, so a move re-plans the
staff member's follow-up reminder (AppointmentRescheduled does not repeat it).

Revision ID: 0044
Revises: 0043
"""

from alembic import op

revision = "0044"
down_revision = "0043"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE appointment_schedule ADD COLUMN follow_up_action text NOT NULL DEFAULT ''")


def downgrade() -> None:
    op.execute("ALTER TABLE appointment_schedule DROP COLUMN follow_up_action")
