"""A public booking page request keeps the visitor's answers to the booking request form until the code is
confirmed; they then go onto the visitor's client record.

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE public_requests ADD COLUMN answers jsonb NOT NULL DEFAULT '{}'::jsonb")


def downgrade() -> None:
    op.execute("ALTER TABLE public_requests DROP COLUMN answers")
