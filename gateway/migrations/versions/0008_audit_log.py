"""The audit log of each business: who changed which record through which client, before and after.

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE audit_log (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            occurred_at timestamptz NOT NULL DEFAULT now(),
            -- staff (a person signed in), portal (a client) or api_key.
            actor_kind text NOT NULL CHECK (actor_kind IN ('staff', 'portal', 'api_key')),
            actor_id uuid NOT NULL,
            -- The operation (the OpenAPI operationId), its method and path.
            action text NOT NULL,
            method text NOT NULL,
            path text NOT NULL,
            record_type text NOT NULL,
            record_id text NOT NULL DEFAULT '',
            status integer NOT NULL,
            -- What was asked (secrets removed), the record before (when it could be read) and after.
            request jsonb,
            before jsonb,
            after jsonb,
            client_ip text NOT NULL DEFAULT ''
        )
        """
    )
    op.execute("CREATE INDEX audit_log_tenant ON audit_log (tenant_id, id DESC)")
    op.execute("CREATE INDEX audit_log_record ON audit_log (tenant_id, record_id, id DESC)")
    op.execute("CREATE INDEX audit_log_actor ON audit_log (tenant_id, actor_id, id DESC)")


def downgrade() -> None:
    op.execute("DROP TABLE audit_log")
