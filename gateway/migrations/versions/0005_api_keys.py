"""API keys per business (scoped, stored hashed, revocable at once) and the rate limiter's windows.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE api_keys (
            id uuid PRIMARY KEY,
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
            -- The first characters of the secret, shown so a key can be recognised; never enough to use it.
            display_prefix text NOT NULL,
            secret_hash bytea NOT NULL UNIQUE,
            scopes text[] NOT NULL CHECK (cardinality(scopes) >= 1),
            created_by uuid NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            last_used_at timestamptz,
            revoked_at timestamptz
        )
        """
    )
    op.execute("CREATE INDEX api_keys_tenant ON api_keys (tenant_id, created_at)")
    # Revocation reaches every gateway replica's cache at once (the channel of 0004's principal_changed).
    op.execute(
        "CREATE TRIGGER api_keys_changed AFTER UPDATE OF revoked_at, scopes OR DELETE ON api_keys "
        "FOR EACH ROW EXECUTE FUNCTION principal_changed('api_key')"
    )
    # Counters of fixed windows; losing them in a crash only forgives a minute of calls.
    op.execute(
        """
        CREATE UNLOGGED TABLE rate_limit_windows (
            key text NOT NULL,
            window_start timestamptz NOT NULL,
            hits integer NOT NULL CHECK (hits > 0),
            PRIMARY KEY (key, window_start)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE rate_limit_windows")
    op.execute("DROP TRIGGER api_keys_changed ON api_keys")
    op.execute("DROP TABLE api_keys")
