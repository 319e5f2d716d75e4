"""Appointments and recurring series re-pointed by client merges, so an unmerge can give each back to its
original client.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE client_merge_moves (
            tenant_id uuid NOT NULL,
            merge_id uuid NOT NULL,
            record_kind text NOT NULL CHECK (record_kind IN ('appointment', 'series')),
            record_id uuid NOT NULL,
            original_client_id uuid NOT NULL,
            PRIMARY KEY (tenant_id, merge_id, record_kind, record_id)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE client_merge_moves")
