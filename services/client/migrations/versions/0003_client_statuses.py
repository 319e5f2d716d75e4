"""Client statuses: a per-tenant, editable set; every client has one.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE client_statuses (
            tenant_id uuid NOT NULL,
            id uuid NOT NULL,
            label text NOT NULL CHECK (length(btrim(label)) BETWEEN 1 AND 50),
            position integer NOT NULL CHECK (position >= 0),
            is_default boolean NOT NULL DEFAULT false,
            archived_at timestamptz,
            PRIMARY KEY (tenant_id, id),
            CHECK (NOT (is_default AND archived_at IS NOT NULL))
        )
        """
    )
    # Live labels are unique per tenant, whatever their case; one default per tenant.
    op.execute(
        "CREATE UNIQUE INDEX client_statuses_live_label ON client_statuses (tenant_id, lower(label)) "
        "WHERE archived_at IS NULL"
    )
    # Deferred to commit: moving the default flips two rows, in whatever order they are written.
    op.execute(
        "ALTER TABLE client_statuses ADD CONSTRAINT client_statuses_one_default "
        "EXCLUDE USING btree (tenant_id WITH =) WHERE (is_default) DEFERRABLE INITIALLY DEFERRED"
    )
    op.execute(
        """
        ALTER TABLE clients
            ADD COLUMN status_id uuid,
            ADD CONSTRAINT clients_status FOREIGN KEY (tenant_id, status_id) REFERENCES client_statuses (tenant_id, id)
        """
    )
    op.execute("CREATE INDEX clients_by_status ON clients (tenant_id, status_id, id DESC) WHERE deleted_at IS NULL")


def downgrade() -> None:
    op.execute("DROP INDEX clients_by_status")
    op.execute("ALTER TABLE clients DROP CONSTRAINT clients_status, DROP COLUMN status_id")
    op.execute("DROP TABLE client_statuses")
