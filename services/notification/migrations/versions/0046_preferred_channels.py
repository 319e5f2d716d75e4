"""The channel a client prefers for its personal messages (requests, the waitlist): email unless it chose
SMS.

Revision ID: 0046
Revises: 0045
"""

from alembic import op

revision = "0046"
down_revision = "0045"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE preferred_channels (
            tenant_id uuid NOT NULL,
            client_id uuid NOT NULL,
            channel text NOT NULL CHECK (channel IN ('email', 'sms')),
            updated_at timestamptz NOT NULL,
            PRIMARY KEY (tenant_id, client_id)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE preferred_channels")
