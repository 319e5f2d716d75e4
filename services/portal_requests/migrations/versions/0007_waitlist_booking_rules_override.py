"""Staff may put a client on the waitlist past its booking rules (online-booking block, active bookings limit):
the entry keeps that it was overridden, and accepting its offer books past them too.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE waitlist_entries ADD COLUMN booking_rules_overridden boolean NOT NULL DEFAULT false")
    # Only staff may override (a client's own entry never is).
    op.execute(
        "ALTER TABLE waitlist_entries ADD CONSTRAINT waitlist_entries_override_by_staff"
        " CHECK (NOT booking_rules_overridden OR joined_by = 'staff')"
    )


def downgrade() -> None:
    op.execute(
        "ALTER TABLE waitlist_entries DROP CONSTRAINT waitlist_entries_override_by_staff,"
        " DROP COLUMN booking_rules_overridden"
    )
