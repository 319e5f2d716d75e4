"""Identity: tenants, staff users, portal accounts and invitations, refresh tokens, login throttling.

Revision ID: 0001
Revises:
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        r"""
        CREATE TABLE tenants (
            id uuid PRIMARY KEY,
            name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
            slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$'),
            country text NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
            timezone text NOT NULL CHECK (length(timezone) BETWEEN 1 AND 64),
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(
        r"""
        CREATE TABLE staff_users (
            id uuid PRIMARY KEY,
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            -- Staff sign in with their email alone, so it identifies one account across tenants.
            email text NOT NULL UNIQUE CHECK (email = lower(email) AND position('@' IN email) > 1),
            password_hash text NOT NULL,
            role text NOT NULL CHECK (role IN ('owner', 'admin', 'staff')),
            active boolean NOT NULL DEFAULT true,
            created_at timestamptz NOT NULL DEFAULT now(),
            UNIQUE (tenant_id, id)
        )
        """
    )
    # Exactly one owner per tenant.
    op.execute("CREATE UNIQUE INDEX staff_one_owner ON staff_users (tenant_id) WHERE role = 'owner'")
    op.execute(
        r"""
        CREATE TABLE portal_accounts (
            id uuid PRIMARY KEY,
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            client_id uuid NOT NULL,
            email text NOT NULL CHECK (email = lower(email) AND position('@' IN email) > 1),
            password_hash text NOT NULL,
            active boolean NOT NULL DEFAULT true,
            created_at timestamptz NOT NULL DEFAULT now(),
            UNIQUE (tenant_id, client_id),
            UNIQUE (tenant_id, email)
        )
        """
    )
    op.execute(
        r"""
        CREATE TABLE portal_invitations (
            id uuid PRIMARY KEY,
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            client_id uuid NOT NULL,
            email text NOT NULL CHECK (email = lower(email) AND position('@' IN email) > 1),
            token_hash bytea NOT NULL UNIQUE,
            invited_by uuid NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz NOT NULL CHECK (expires_at > created_at),
            accepted_at timestamptz
        )
        """
    )
    op.execute(
        r"""
        CREATE TABLE refresh_tokens (
            id uuid PRIMARY KEY,
            token_hash bytea NOT NULL UNIQUE,
            -- All tokens rotated from one sign-in share a family; reuse of a rotated token revokes it.
            family_id uuid NOT NULL,
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            principal_kind text NOT NULL CHECK (principal_kind IN ('staff', 'portal')),
            principal_id uuid NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz NOT NULL CHECK (expires_at > created_at),
            revoked_at timestamptz
        )
        """
    )
    op.execute("CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id)")
    op.execute(
        r"""
        CREATE TABLE login_throttle (
            key text PRIMARY KEY,
            failures integer NOT NULL CHECK (failures >= 0),
            window_started_at timestamptz NOT NULL,
            locked_until timestamptz
        )
        """
    )


def downgrade() -> None:
    for table in (
        "login_throttle",
        "refresh_tokens",
        "portal_invitations",
        "portal_accounts",
        "staff_users",
        "tenants",
    ):
        op.execute(f"DROP TABLE {table}")
