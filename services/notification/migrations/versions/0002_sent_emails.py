"""Emails sent, one per source event: a redelivered event finds its row and sends nothing.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        r"""
        CREATE TABLE sent_emails (
            tenant_id uuid NOT NULL,
            id uuid NOT NULL,
            client_id uuid,
            kind text NOT NULL CHECK (kind ~ '^[a-z_]+(\.[a-z_]+)*$'),
            to_address text NOT NULL CHECK (length(to_address) BETWEEN 3 AND 254),
            subject text NOT NULL,
            message_id text NOT NULL,
            -- 'smtp', or 'log' when no SMTP server is configured (development).
            transport text NOT NULL CHECK (transport IN ('smtp', 'log')),
            source_event_id uuid NOT NULL,
            sent_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant_id, id),
            CONSTRAINT sent_emails_one_per_event UNIQUE (source_event_id)
        )
        """
    )
    op.execute("CREATE INDEX sent_emails_of_client ON sent_emails (tenant_id, client_id, sent_at DESC)")


def downgrade() -> None:
    op.execute("DROP TABLE sent_emails")
