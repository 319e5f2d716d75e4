"""The business's zone is one setting: scheduling follows the business profile's zone (BusinessProfileChanged
from the gateway, sent at sign-up and on every change). ``zone_followed_at`` is the time of the newest such
event applied, so an older event delivered again never turns the zone back.

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE scheduling_settings ADD COLUMN zone_followed_at timestamptz")


def downgrade() -> None:
    op.execute("ALTER TABLE scheduling_settings DROP COLUMN zone_followed_at")
