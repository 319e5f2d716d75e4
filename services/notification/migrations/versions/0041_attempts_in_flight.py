"""An attempt is recorded before its message is handed to the provider ('sending'), so a replica that
stops mid-send leaves a trace: the message is then failed with an attempt of 'unknown' outcome instead of
being sent again.

Revision ID: 0041
Revises: 0040
"""

from alembic import op

revision = "0041"
down_revision = "0040"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE message_attempts DROP CONSTRAINT message_attempts_outcome_check")
    op.execute(
        "ALTER TABLE message_attempts ADD CONSTRAINT message_attempts_outcome_check "
        "CHECK (outcome IN ('sending', 'sent', 'failed', 'unknown'))"
    )


def downgrade() -> None:
    op.execute("DELETE FROM message_attempts WHERE outcome IN ('sending', 'unknown')")
    op.execute("ALTER TABLE message_attempts DROP CONSTRAINT message_attempts_outcome_check")
    op.execute(
        "ALTER TABLE message_attempts ADD CONSTRAINT message_attempts_outcome_check "
        "CHECK (outcome IN ('sent', 'failed'))"
    )
