"""Client tags (categories).

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE client_tags (
            tenant_id uuid NOT NULL,
            client_id uuid NOT NULL,
            tag text NOT NULL CHECK (length(btrim(tag)) BETWEEN 1 AND 40 AND tag = btrim(tag)),
            PRIMARY KEY (tenant_id, client_id, tag),
            FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, id)
        )
        """
    )
    # One tag per client whatever its case; filtering by tag uses the same expression.
    op.execute("CREATE UNIQUE INDEX client_tags_unique ON client_tags (tenant_id, client_id, lower(tag))")
    op.execute("CREATE INDEX client_tags_by_tag ON client_tags (tenant_id, lower(tag), client_id)")


def downgrade() -> None:
    op.execute("DROP TABLE client_tags")
