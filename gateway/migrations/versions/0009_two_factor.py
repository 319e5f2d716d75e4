"""Optional TOTP two-factor sign-in for staff, and the business setting that requires it.

Revision ID: 0009
Revises: 0008
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE staff_users
            ADD COLUMN totp_secret text,
            ADD COLUMN totp_enabled_at timestamptz,
            -- The time step of the last code accepted: a code works once.
            ADD COLUMN totp_last_step bigint,
            ADD CONSTRAINT staff_users_totp_has_secret CHECK (totp_enabled_at IS NULL OR totp_secret IS NOT NULL)
        """
    )
    op.execute("ALTER TABLE tenants ADD COLUMN require_two_factor boolean NOT NULL DEFAULT false")
    # A business changing the requirement reaches every replica's cached principals at once.
    op.execute(
        "CREATE TRIGGER tenants_changed AFTER UPDATE OF require_two_factor ON tenants "
        "FOR EACH ROW EXECUTE FUNCTION principal_changed('tenant')"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER tenants_changed ON tenants")
    op.execute("ALTER TABLE tenants DROP COLUMN require_two_factor")
    op.execute(
        """
        ALTER TABLE staff_users
            DROP CONSTRAINT staff_users_totp_has_secret,
            DROP COLUMN totp_last_step,
            DROP COLUMN totp_enabled_at,
            DROP COLUMN totp_secret
        """
    )
