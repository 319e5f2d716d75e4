"""Portal invitations issued and portal access switched on or off, per client (the facts behind the
PortalInvitationIssued / PortalAccessGranted / PortalAccessRevoked events). The invitation link is not
kept here: it travels only on the event, to be emailed.

Revision ID: 0014
Revises: 0013
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE client_portal_log (
            tenant_id uuid NOT NULL,
            -- The gateway's invitation id or change id: recording it again is refused.
            id uuid NOT NULL,
            client_id uuid NOT NULL,
            kind text NOT NULL CHECK (kind IN ('invitation', 'access_granted', 'access_revoked')),
            email text,
            expires_at timestamptz,
            recorded_at timestamptz NOT NULL,
            PRIMARY KEY (tenant_id, id),
            FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, id) ON DELETE CASCADE,
            CONSTRAINT client_portal_log_invitation_complete
                CHECK ((kind = 'invitation') = (email IS NOT NULL AND expires_at IS NOT NULL))
        )
        """
    )
    op.execute("CREATE INDEX client_portal_log_of_client ON client_portal_log (tenant_id, client_id, recorded_at)")


def downgrade() -> None:
    op.execute("DROP TABLE client_portal_log")
