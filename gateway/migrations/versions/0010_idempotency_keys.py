"""Idempotency keys: the first answer to each (tenant, principal, key), replayed to retries for 24 hours.

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        r"""
        CREATE TABLE idempotency_keys (
            tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
            -- "staff:<id>", "portal:<id>": one caller's keys never answer another's.
            principal text NOT NULL CHECK (length(principal) BETWEEN 1 AND 100),
            key text NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
            -- SHA-256 of method, path, query and body: a key reused for another request is refused.
            fingerprint bytea NOT NULL CHECK (length(fingerprint) = 32),
            -- NULL while the first request runs.
            status integer CHECK (status BETWEEN 200 AND 499),
            content_type text,
            body bytea,
            headers jsonb,
            created_at timestamptz NOT NULL DEFAULT now(),
            completed_at timestamptz,
            PRIMARY KEY (tenant_id, principal, key),
            CHECK ((status IS NULL) = (completed_at IS NULL)),
            CHECK (status IS NULL OR body IS NOT NULL)
        )
        """
    )
    op.execute("CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at)")


def downgrade() -> None:
    op.execute("DROP TABLE idempotency_keys")
