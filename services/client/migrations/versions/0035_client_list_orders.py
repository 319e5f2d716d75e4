"""The list's other orders, each read from its own index in keyset pages: by name (last, then first, then id)
and by the latest change. Newest and oldest first read the primary key.

Revision ID: 0035
Revises: 0034
"""

from alembic import op

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX clients_by_name ON clients (tenant_id, lower(last_name), lower(first_name), id)"
        " WHERE merged_into IS NULL"
    )
    op.execute("CREATE INDEX clients_by_update ON clients (tenant_id, updated_at, id) WHERE merged_into IS NULL")


def downgrade() -> None:
    op.execute("DROP INDEX clients_by_update")
    op.execute("DROP INDEX clients_by_name")
