"""Webhooks: endpoints subscribed to event types, one delivery per (endpoint, event), each attempt logged.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE webhook_endpoints (
            id uuid PRIMARY KEY,
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            url text NOT NULL CHECK (url ~ '^https?://' AND length(url) <= 2000),
            description text NOT NULL DEFAULT '' CHECK (length(description) <= 500),
            event_types text[] NOT NULL CHECK (cardinality(event_types) >= 1),
            -- Standard Webhooks signing secret (whsec_...): kept, since signing needs the key itself.
            secret text NOT NULL,
            enabled boolean NOT NULL DEFAULT true,
            -- Failed attempts in a row; a success resets it.
            consecutive_failures integer NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
            disabled_at timestamptz,
            disabled_reason text,
            created_at timestamptz NOT NULL DEFAULT now(),
            UNIQUE (tenant_id, id),
            CHECK ((disabled_at IS NULL) = enabled)
        )
        """
    )
    op.execute("CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id) WHERE enabled")
    op.execute(
        """
        CREATE TABLE webhook_deliveries (
            id uuid PRIMARY KEY,
            tenant_id uuid NOT NULL,
            endpoint_id uuid NOT NULL,
            -- The event's id (the receiver's deduplication key, also the webhook-id header).
            event_id uuid NOT NULL,
            event_type text NOT NULL,
            payload jsonb NOT NULL,
            status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
            attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
            next_attempt_at timestamptz,
            created_at timestamptz NOT NULL DEFAULT now(),
            completed_at timestamptz,
            FOREIGN KEY (tenant_id, endpoint_id) REFERENCES webhook_endpoints (tenant_id, id) ON DELETE CASCADE,
            UNIQUE (endpoint_id, event_id),
            CHECK ((status = 'pending') = (next_attempt_at IS NOT NULL AND completed_at IS NULL))
        )
        """
    )
    op.execute("CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending'")
    op.execute("CREATE INDEX webhook_deliveries_log ON webhook_deliveries (endpoint_id, created_at DESC)")
    op.execute(
        """
        CREATE TABLE webhook_attempts (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            delivery_id uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
            attempted_at timestamptz NOT NULL DEFAULT now(),
            response_status integer,
            response_body text NOT NULL DEFAULT '',
            error text NOT NULL DEFAULT '',
            duration_ms integer NOT NULL CHECK (duration_ms >= 0)
        )
        """
    )
    op.execute("CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id)")


def downgrade() -> None:
    op.execute("DROP TABLE webhook_attempts")
    op.execute("DROP TABLE webhook_deliveries")
    op.execute("DROP TABLE webhook_endpoints")
