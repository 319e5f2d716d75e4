"""Activity timeline and the messaging tables.

Revision ID: 0001
Revises:
"""

from alembic import op

from platform_core.messaging import schema as messaging_schema

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        r"""
        CREATE TABLE activity_entries (
            tenant_id uuid NOT NULL,
            id uuid NOT NULL,
            client_id uuid NOT NULL,
            kind text NOT NULL CHECK (kind ~ '^[a-z_]+(\.[a-z_]+)+$'),
            summary text NOT NULL CHECK (length(summary) BETWEEN 1 AND 500),
            occurred_at timestamptz NOT NULL,
            source_event_id uuid NOT NULL,
            source_event_type text NOT NULL,
            recorded_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant_id, id),
            -- One timeline entry per integration event, whatever the broker redelivers.
            CONSTRAINT activity_one_entry_per_event UNIQUE (source_event_id)
        )
        """
    )
    op.execute("CREATE INDEX activity_by_client ON activity_entries (tenant_id, client_id, occurred_at DESC, id DESC)")
    messaging_schema.create_v1(op)


def downgrade() -> None:
    messaging_schema.drop_v1(op)
    op.execute("DROP TABLE activity_entries")
