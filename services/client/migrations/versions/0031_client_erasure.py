"""Erasure of a client's personal data: when it happened, and what an erased record may still hold.

Revision ID: 0031
Revises: 0030
"""

from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE clients
            ADD COLUMN erased_at timestamptz,
            -- An erased client is out of the live set, and holds nothing personal.
            ADD CONSTRAINT clients_erased_blank CHECK (
                erased_at IS NULL OR (
                    deleted_at IS NOT NULL AND email IS NULL AND phone IS NULL
                    AND request_id IS NULL AND date_of_birth IS NULL AND last_name = '' AND company_name = ''
                    AND address_line1 = '' AND address_line2 = '' AND address_city = '' AND address_region = ''
                    AND address_postal_code = '' AND address_country = ''
                    AND preferred_language = '' AND timezone = ''
                )
            )
        """
    )


def downgrade() -> None:
    op.execute("ALTER TABLE clients DROP CONSTRAINT clients_erased_blank, DROP COLUMN erased_at")
