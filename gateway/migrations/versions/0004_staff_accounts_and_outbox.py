"""Accounts people can manage: the gateway's outbox, staff invitations, deactivation, several owners,
password resets, and revocation of live access tokens.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

from platform_core.messaging import schema

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Every change of a principal's row is announced, so each gateway replica drops what it cached about it.
PRINCIPALS_CHANNEL = "atrium_principals"


def upgrade() -> None:
    schema.create_v1(op)
    op.execute(
        "ALTER TABLE tenants ADD COLUMN default_language text NOT NULL DEFAULT 'en' "
        "CHECK (length(default_language) BETWEEN 2 AND 35)"
    )
    # A business may have several owners; the last active one cannot go (checked under the tenant's row lock).
    op.execute("DROP INDEX staff_one_owner")
    op.execute(
        """
        ALTER TABLE staff_users
            ALTER COLUMN password_hash DROP NOT NULL,
            ADD COLUMN name text NOT NULL DEFAULT '' CHECK (length(name) <= 200),
            ADD COLUMN language text NOT NULL DEFAULT '' CHECK (length(language) <= 35),
            ADD COLUMN timezone text NOT NULL DEFAULT '' CHECK (length(timezone) <= 64),
            -- Bumped to revoke every access token issued before (a password change or reset).
            ADD COLUMN token_generation integer NOT NULL DEFAULT 0 CHECK (token_generation >= 0),
            ADD COLUMN invited_at timestamptz,
            ADD COLUMN deactivated_at timestamptz,
            ADD CONSTRAINT staff_users_password_or_invited CHECK (password_hash IS NOT NULL OR invited_at IS NOT NULL),
            ADD CONSTRAINT staff_users_deactivated CHECK ((deactivated_at IS NULL) = active)
        """
    )
    op.execute(
        "ALTER TABLE portal_accounts ADD COLUMN token_generation integer NOT NULL DEFAULT 0 "
        "CHECK (token_generation >= 0)"
    )
    op.execute(
        """
        CREATE TABLE staff_invitations (
            id uuid PRIMARY KEY,
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            staff_user_id uuid NOT NULL,
            token_hash bytea NOT NULL UNIQUE,
            invited_by uuid NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz NOT NULL CHECK (expires_at > created_at),
            accepted_at timestamptz,
            FOREIGN KEY (tenant_id, staff_user_id) REFERENCES staff_users (tenant_id, id) ON DELETE CASCADE
        )
        """
    )
    op.execute(
        """
        CREATE TABLE password_resets (
            id uuid PRIMARY KEY,
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            account_kind text NOT NULL CHECK (account_kind IN ('staff', 'portal')),
            account_id uuid NOT NULL,
            token_hash bytea NOT NULL UNIQUE,
            created_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz NOT NULL CHECK (expires_at > created_at),
            used_at timestamptz
        )
        """
    )
    op.execute("CREATE INDEX password_resets_account ON password_resets (account_kind, account_id)")
    op.execute(
        f"""
        CREATE FUNCTION principal_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{PRINCIPALS_CHANNEL}', TG_ARGV[0] || ':' || OLD.id::text);
            RETURN NULL;
        END $$
        """
    )
    for table, kind in (("staff_users", "staff"), ("portal_accounts", "portal")):
        op.execute(
            f"CREATE TRIGGER {table}_changed AFTER UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION principal_changed('{kind}')"
        )


def downgrade() -> None:
    for table in ("staff_users", "portal_accounts"):
        op.execute(f"DROP TRIGGER {table}_changed ON {table}")
    op.execute("DROP FUNCTION principal_changed()")
    op.execute("DROP TABLE password_resets")
    op.execute("DROP TABLE staff_invitations")
    op.execute("ALTER TABLE portal_accounts DROP COLUMN token_generation")
    op.execute(
        """
        ALTER TABLE staff_users
            DROP CONSTRAINT staff_users_deactivated,
            DROP CONSTRAINT staff_users_password_or_invited,
            DROP COLUMN deactivated_at,
            DROP COLUMN invited_at,
            DROP COLUMN token_generation,
            DROP COLUMN timezone,
            DROP COLUMN language,
            DROP COLUMN name,
            ALTER COLUMN password_hash SET NOT NULL
        """
    )
    op.execute("CREATE UNIQUE INDEX staff_one_owner ON staff_users (tenant_id) WHERE role = 'owner'")
    op.execute("ALTER TABLE tenants DROP COLUMN default_language")
    schema.drop_v1(op)
