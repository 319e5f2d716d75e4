"""The membership report's reads: every freeze a subscription went through (a subscription keeps only its
current one), recorded by the schema itself whichever path freezes it, and indexes for the report's ranges
of days (periods by their start, subscriptions by their expiry, freezes by their first day). The business's
membership settings: whether clients may cancel their own subscriptions in the portal (no row: they may not).

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

STATEMENTS = [
    r"""
    CREATE TABLE subscription_freezes (
        tenant_id uuid NOT NULL,
        frozen_from date NOT NULL,
        subscription_id uuid NOT NULL,
        PRIMARY KEY (tenant_id, frozen_from, subscription_id),
        FOREIGN KEY (tenant_id, subscription_id) REFERENCES subscriptions (tenant_id, id)
    )
    """,
    r"""
    CREATE FUNCTION subscriptions_record_freeze() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO subscription_freezes (tenant_id, frozen_from, subscription_id)
            VALUES (NEW.tenant_id, NEW.frozen_from, NEW.id)
            ON CONFLICT DO NOTHING;
        RETURN NULL;
    END
    $$
    """,
    "CREATE TRIGGER subscriptions_record_freeze AFTER INSERT OR UPDATE OF frozen_from ON subscriptions"
    " FOR EACH ROW WHEN (NEW.frozen_from IS NOT NULL) EXECUTE FUNCTION subscriptions_record_freeze()",
    "INSERT INTO subscription_freezes (tenant_id, frozen_from, subscription_id)"
    " SELECT tenant_id, frozen_from, id FROM subscriptions WHERE frozen_from IS NOT NULL",
    "CREATE INDEX subscriptions_by_expiry ON subscriptions (tenant_id, expires_on)",
    "CREATE INDEX subscription_periods_by_start ON subscription_periods (tenant_id, starts_on)",
    r"""
    CREATE TABLE membership_settings (
        tenant_id uuid PRIMARY KEY,
        clients_may_cancel boolean NOT NULL,
        updated_at timestamptz NOT NULL
    )
    """,
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE membership_settings")
    op.execute("DROP INDEX subscription_periods_by_start")
    op.execute("DROP INDEX subscriptions_by_expiry")
    op.execute("DROP TRIGGER subscriptions_record_freeze ON subscriptions")
    op.execute("DROP FUNCTION subscriptions_record_freeze()")
    op.execute("DROP TABLE subscription_freezes")
