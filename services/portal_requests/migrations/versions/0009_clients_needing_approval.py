"""Clients whose online requests must wait for staff approval until an instant (billing's repeat-offender rule,
outcome require_approval: its ClientRequestsNeedApproval event), and whether a request was held for approval so.

Revision ID: 0009
Revises: 0008
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE clients_needing_approval (
            tenant_id uuid NOT NULL,
            client_id uuid NOT NULL,
            until timestamptz NOT NULL,
            reason text NOT NULL DEFAULT '',
            PRIMARY KEY (tenant_id, client_id)
        )
        """
    )
    op.execute("ALTER TABLE appointment_requests ADD COLUMN held_for_approval boolean NOT NULL DEFAULT false")


def downgrade() -> None:
    op.execute("ALTER TABLE appointment_requests DROP COLUMN held_for_approval")
    op.execute("DROP TABLE clients_needing_approval")
