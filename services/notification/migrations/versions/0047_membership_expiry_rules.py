"""A business's membership-expiry rule (days before, on and after the expiry, channels, local time), and
the subscriptions' facts its reminders are planned from (kept from billing's Membership* events).

Revision ID: 0047
Revises: 0046
"""

from alembic import op

revision = "0047"
down_revision = "0046"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE membership_expiry_rules (
            tenant_id uuid PRIMARY KEY,
            -- Days relative to the expiry date: negative before, 0 on the day, positive after (in tolerance).
            days integer[] NOT NULL CHECK (cardinality(days) BETWEEN 1 AND 6 AND -60 <= ALL (days)
                AND 60 >= ALL (days)),
            channels text[] NOT NULL
                CHECK (cardinality(channels) >= 1 AND channels <@ ARRAY['email', 'sms', 'in_app']),
            send_at time NOT NULL,
            updated_at timestamptz NOT NULL
        )
        """
    )
    # Fed by billing's Membership* events; occurred_at keeps the newest fact (events may arrive out of order).
    op.execute(
        """
        CREATE TABLE subscription_facts (
            tenant_id uuid NOT NULL,
            subscription_id uuid NOT NULL,
            client_id uuid NOT NULL,
            membership_name text NOT NULL,
            expires_on date NOT NULL,
            tolerance_until date NOT NULL CHECK (tolerance_until >= expires_on),
            status text NOT NULL CHECK (status IN ('active', 'frozen', 'tolerance', 'expired', 'cancelled')),
            occurred_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            PRIMARY KEY (tenant_id, subscription_id)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE subscription_facts")
    op.execute("DROP TABLE membership_expiry_rules")
