"""Plan limits of a tenant: the most live clients it may keep (NULL: no limit).

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE tenants ADD COLUMN max_clients integer CHECK (max_clients > 0)")


def downgrade() -> None:
    op.execute("ALTER TABLE tenants DROP COLUMN max_clients")
