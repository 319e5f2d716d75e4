"""Clients whose online requests must wait for staff approval until an instant (billing's repeat-offender rule,
outcome require_approval: its ClientRequestsNeedApproval event), and whether a request was held for approval so.

One row per tripping no-show (its appointment's id), so a redelivery adds nothing, the latest end holds, and the
rows follow their client through merges and back on an unmerge like the requests do (record kind
'approval_requirement' in client_merge_moves).

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
            id uuid NOT NULL,
            client_id uuid NOT NULL,
            until timestamptz NOT NULL,
            reason text NOT NULL DEFAULT '',
            PRIMARY KEY (tenant_id, id)
        )
        """
    )
    op.execute("CREATE INDEX clients_needing_approval_client ON clients_needing_approval (tenant_id, client_id, until)")
    op.execute("ALTER TABLE client_merge_moves DROP CONSTRAINT client_merge_moves_record_kind_check")
    op.execute(
        "ALTER TABLE client_merge_moves ADD CONSTRAINT client_merge_moves_record_kind_check"
        " CHECK (record_kind IN ('request', 'approval_requirement'))"
    )
    op.execute("ALTER TABLE appointment_requests ADD COLUMN held_for_approval boolean NOT NULL DEFAULT false")


def downgrade() -> None:
    op.execute("DELETE FROM client_merge_moves WHERE record_kind = 'approval_requirement'")
    op.execute("ALTER TABLE client_merge_moves DROP CONSTRAINT client_merge_moves_record_kind_check")
    op.execute(
        "ALTER TABLE client_merge_moves ADD CONSTRAINT client_merge_moves_record_kind_check"
        " CHECK (record_kind = 'request')"
    )
    op.execute("ALTER TABLE appointment_requests DROP COLUMN held_for_approval")
    op.execute("DROP TABLE clients_needing_approval")
