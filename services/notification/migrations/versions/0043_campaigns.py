"""Campaigns: a marketing message to a segment of clients, sent once at a throttled rate (its messages are
ordinary messages, planned at staggered times and delivered by every replica's dispatcher).

Revision ID: 0043
Revises: 0042
"""

from alembic import op

revision = "0043"
down_revision = "0042"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE campaigns (
            tenant_id uuid NOT NULL,
            id uuid NOT NULL,
            name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
            channel text NOT NULL CHECK (channel IN ('email', 'sms')),
            group_id uuid,
            status_id uuid,
            tag text NOT NULL DEFAULT '',
            source text NOT NULL CHECK (length(source) BETWEEN 1 AND 20000),
            rate_per_minute integer NOT NULL CHECK (rate_per_minute BETWEEN 1 AND 6000),
            status text NOT NULL CHECK (status IN ('draft', 'sending')),
            recipients integer NOT NULL DEFAULT 0 CHECK (recipients >= 0),
            created_by text NOT NULL DEFAULT '',
            created_at timestamptz NOT NULL,
            started_at timestamptz,
            PRIMARY KEY (tenant_id, id),
            -- Sent once: started exactly when it left the draft state.
            CONSTRAINT campaigns_started CHECK ((status = 'sending') = (started_at IS NOT NULL))
        )
        """
    )
    op.execute("CREATE INDEX campaigns_newest ON campaigns (tenant_id, created_at DESC, id DESC)")
    # The report counts a campaign's messages (planned with the campaign as their source).
    op.execute("CREATE INDEX messages_of_source ON messages (tenant_id, source_event_id)")


def downgrade() -> None:
    op.execute("DROP INDEX messages_of_source")
    op.execute("DROP TABLE campaigns")
