"""Portal permissions: tenant-wide defaults, per-client overrides, access switched on and off.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

PERMISSIONS = ("view_appointments", "view_invoices", "view_documents", "edit_profile")


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE portal_defaults (
            tenant_id uuid PRIMARY KEY REFERENCES tenants (id),
            view_appointments boolean NOT NULL,
            view_invoices boolean NOT NULL,
            view_documents boolean NOT NULL,
            edit_profile boolean NOT NULL
        )
        """
    )
    # Per client: NULL inherits the tenant default. Kept apart from the account, so staff can set a
    # client's permissions (and block access) before the client has accepted an invitation.
    op.execute(
        """
        CREATE TABLE portal_client_access (
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            client_id uuid NOT NULL,
            enabled boolean NOT NULL DEFAULT true,
            view_appointments boolean,
            view_invoices boolean,
            view_documents boolean,
            edit_profile boolean,
            PRIMARY KEY (tenant_id, client_id)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE portal_client_access")
    op.execute("DROP TABLE portal_defaults")
