"""Refresh-token rotation remembers its successor, so a concurrent refresh of the same token within the grace
window is answered the same new tokens instead of being taken for reuse (which revokes the family).

Revision ID: 0012
Revises: 0010
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        r"""
        ALTER TABLE refresh_tokens
            ADD COLUMN rotated_at timestamptz,
            -- A spent token is worth keeping only while its successor exists.
            ADD COLUMN successor_id uuid REFERENCES refresh_tokens (id) ON DELETE CASCADE,
            -- A rotated token is spent (revoked) and names the token that replaced it.
            ADD CONSTRAINT refresh_tokens_rotation CHECK (
                rotated_at IS NULL OR (revoked_at IS NOT NULL AND successor_id IS NOT NULL)
            )
        """
    )


def downgrade() -> None:
    op.execute(
        "ALTER TABLE refresh_tokens DROP CONSTRAINT refresh_tokens_rotation, "
        "DROP COLUMN successor_id, DROP COLUMN rotated_at"
    )
