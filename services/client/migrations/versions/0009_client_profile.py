"""The rest of the client record: kind and company, address, birth date, language, timezone, source,
invoicing method, opening balance.

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
        r"""
        ALTER TABLE clients
            ADD COLUMN kind text NOT NULL DEFAULT 'individual' CHECK (kind IN ('individual', 'business')),
            ADD COLUMN company_name text NOT NULL DEFAULT '' CHECK (length(company_name) <= 200),
            ADD COLUMN address_line1 text NOT NULL DEFAULT '' CHECK (length(address_line1) <= 200),
            ADD COLUMN address_line2 text NOT NULL DEFAULT '' CHECK (length(address_line2) <= 200),
            ADD COLUMN address_city text NOT NULL DEFAULT '' CHECK (length(address_city) <= 100),
            ADD COLUMN address_region text NOT NULL DEFAULT '' CHECK (length(address_region) <= 100),
            ADD COLUMN address_postal_code text NOT NULL DEFAULT '' CHECK (length(address_postal_code) <= 20),
            ADD COLUMN address_country text NOT NULL DEFAULT '' CHECK (address_country ~ '^([A-Z]{2})?$'),
            ADD COLUMN date_of_birth date CHECK (date_of_birth >= DATE '1900-01-01'),
            ADD COLUMN preferred_language text NOT NULL DEFAULT '' CHECK (length(preferred_language) <= 35),
            ADD COLUMN timezone text NOT NULL DEFAULT '' CHECK (length(timezone) <= 64),
            ADD COLUMN source text NOT NULL DEFAULT 'staff'
                CHECK (source IN ('staff', 'import', 'portal', 'booking_widget')),
            ADD COLUMN default_invoicing_method text NOT NULL DEFAULT 'email'
                CHECK (default_invoicing_method IN ('email', 'portal', 'print', 'none')),
            ADD COLUMN opening_balance_minor bigint,
            ADD COLUMN opening_balance_currency text CHECK (opening_balance_currency ~ '^[A-Z]{3}$'),
            ADD CONSTRAINT clients_opening_balance_whole
                CHECK ((opening_balance_minor IS NULL) = (opening_balance_currency IS NULL)),
            ADD CONSTRAINT clients_business_named CHECK (kind <> 'business' OR length(btrim(company_name)) > 0)
        """
    )
    # A business may have no contact first name; an individual must have one.
    op.execute("ALTER TABLE clients DROP CONSTRAINT clients_first_name_check")
    op.execute(
        "ALTER TABLE clients ADD CONSTRAINT clients_first_name_check CHECK ("
        "length(first_name) <= 100 AND (kind = 'business' OR length(btrim(first_name)) >= 1))"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE clients DROP CONSTRAINT clients_first_name_check")
    op.execute(
        "ALTER TABLE clients ADD CONSTRAINT clients_first_name_check "
        "CHECK (length(btrim(first_name)) BETWEEN 1 AND 100)"
    )
    op.execute(
        """
        ALTER TABLE clients
            DROP CONSTRAINT clients_business_named,
            DROP CONSTRAINT clients_opening_balance_whole,
            DROP COLUMN opening_balance_currency, DROP COLUMN opening_balance_minor,
            DROP COLUMN default_invoicing_method, DROP COLUMN source, DROP COLUMN timezone,
            DROP COLUMN preferred_language, DROP COLUMN date_of_birth, DROP COLUMN address_country,
            DROP COLUMN address_postal_code, DROP COLUMN address_region, DROP COLUMN address_city,
            DROP COLUMN address_line2, DROP COLUMN address_line1, DROP COLUMN company_name, DROP COLUMN kind
        """
    )
