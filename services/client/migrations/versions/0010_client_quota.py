"""Live clients per tenant, kept with each create, delete and restore, so a plan's limit holds in the schema.

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE tenant_client_counts (
            tenant_id uuid PRIMARY KEY,
            live_clients integer NOT NULL CHECK (live_clients >= 0),
            -- The plan's limit as of the last change (NULL: none); concurrent creates cannot both pass it.
            max_clients integer CHECK (max_clients > 0),
            CONSTRAINT tenant_client_counts_within_plan CHECK (max_clients IS NULL OR live_clients <= max_clients)
        )
        """
    )
    op.execute(
        "INSERT INTO tenant_client_counts (tenant_id, live_clients) "
        "SELECT tenant_id, count(*) FROM clients WHERE deleted_at IS NULL GROUP BY tenant_id"
    )


def downgrade() -> None:
    op.execute("DROP TABLE tenant_client_counts")
