"""Roles a business defines from the permission list (e.g. front desk: clients and schedule, no billing).

A member with such a role keeps the built-in role 'staff' as its base and names the custom role; the
custom role's permissions are what the member may do.

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
        CREATE TABLE staff_roles (
            id uuid PRIMARY KEY,
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 60 AND name NOT IN ('owner', 'admin', 'staff')),
            permissions text[] NOT NULL CHECK (cardinality(permissions) >= 1),
            created_at timestamptz NOT NULL DEFAULT now(),
            UNIQUE (tenant_id, name),
            UNIQUE (tenant_id, id)
        )
        """
    )
    op.execute(
        """
        ALTER TABLE staff_users
            ADD COLUMN custom_role_id uuid,
            ADD CONSTRAINT staff_users_custom_role FOREIGN KEY (tenant_id, custom_role_id)
                REFERENCES staff_roles (tenant_id, id),
            ADD CONSTRAINT staff_users_custom_role_is_staff CHECK (custom_role_id IS NULL OR role = 'staff')
        """
    )
    op.execute(
        "CREATE INDEX staff_users_custom_role_id ON staff_users (custom_role_id) WHERE custom_role_id IS NOT NULL"
    )
    # A role's permissions change for all its members at once: every replica drops what it cached.
    op.execute(
        "CREATE TRIGGER staff_roles_changed AFTER UPDATE OR DELETE ON staff_roles "
        "FOR EACH ROW EXECUTE FUNCTION principal_changed('role')"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER staff_roles_changed ON staff_roles")
    op.execute(
        """
        ALTER TABLE staff_users
            DROP CONSTRAINT staff_users_custom_role_is_staff,
            DROP CONSTRAINT staff_users_custom_role,
            DROP COLUMN custom_role_id
        """
    )
    op.execute("DROP TABLE staff_roles")
