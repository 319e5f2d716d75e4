"""Packages (credit allocations with a validity and a price) and their sales to clients.

A sale names its invoice (none for a free package) and its lots name the sale; a package's allocations are
one per credit type, of a positive amount; a sale with a request id is made once.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

MAX_AMOUNT = 10**13

STATEMENTS = [
    rf"""
    CREATE TABLE packages (
        tenant_id uuid NOT NULL,
        id uuid NOT NULL,
        name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
        validity_days integer CHECK (validity_days BETWEEN 1 AND 3660),
        price_minor bigint NOT NULL CHECK (price_minor BETWEEN 0 AND {MAX_AMOUNT}),
        currency text NOT NULL CHECK (currency ~ '^[A-Z]{{3}}$'),
        tax_rate_bp integer NOT NULL CHECK (tax_rate_bp BETWEEN 0 AND 10000),
        invoicing text NOT NULL CHECK (invoicing IN ('auto', 'draft')),
        payment_terms_days integer NOT NULL CHECK (payment_terms_days BETWEEN 0 AND 365),
        created_at timestamptz NOT NULL,
        PRIMARY KEY (tenant_id, id)
    )
    """,
    "CREATE UNIQUE INDEX packages_name ON packages (tenant_id, lower(btrim(name)))",
    rf"""
    CREATE TABLE package_allocations (
        tenant_id uuid NOT NULL,
        package_id uuid NOT NULL,
        credit_type_id uuid NOT NULL,
        amount bigint NOT NULL CHECK (amount BETWEEN 1 AND {MAX_AMOUNT}),
        PRIMARY KEY (tenant_id, package_id, credit_type_id),
        FOREIGN KEY (tenant_id, package_id) REFERENCES packages (tenant_id, id),
        FOREIGN KEY (tenant_id, credit_type_id) REFERENCES credit_types (tenant_id, id)
    )
    """,
    r"""
    CREATE TABLE package_sales (
        tenant_id uuid NOT NULL,
        id uuid NOT NULL,
        package_id uuid NOT NULL,
        client_id uuid NOT NULL,
        invoice_id uuid,
        first_day date NOT NULL,
        last_day date CHECK (last_day >= first_day),
        sold_at timestamptz NOT NULL,
        request_id text CHECK (length(request_id) BETWEEN 1 AND 200),
        PRIMARY KEY (tenant_id, id),
        FOREIGN KEY (tenant_id, package_id) REFERENCES packages (tenant_id, id),
        FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id)
    )
    """,
    "CREATE UNIQUE INDEX package_sales_request_id ON package_sales (tenant_id, request_id)"
    " WHERE request_id IS NOT NULL",
    "CREATE INDEX package_sales_by_client ON package_sales (tenant_id, client_id, id DESC)",
    "ALTER TABLE credit_lots ADD COLUMN package_sale_id uuid",
    "ALTER TABLE credit_lots ADD CONSTRAINT credit_lots_package_sale"
    " FOREIGN KEY (tenant_id, package_sale_id) REFERENCES package_sales (tenant_id, id)",
    "CREATE INDEX credit_lots_by_sale ON credit_lots (tenant_id, package_sale_id) WHERE package_sale_id IS NOT NULL",
    r"""
    CREATE OR REPLACE FUNCTION credit_lots_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF (NEW.tenant_id, NEW.id, NEW.credit_type_id, NEW.amount, NEW.starts_at, NEW.expires_at, NEW.created_at,
            NEW.package_sale_id)
           IS DISTINCT FROM
           (OLD.tenant_id, OLD.id, OLD.credit_type_id, OLD.amount, OLD.starts_at, OLD.expires_at, OLD.created_at,
            OLD.package_sale_id)
        THEN
            RAISE EXCEPTION 'a lot keeps what it was charged with (only its holder follows client merges)'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'credit_lots_immutable';
        END IF;
        RETURN NEW;
    END
    $$
    """,
    # Sales follow client merges like the lots they gave.
    "ALTER TABLE client_merge_moves DROP CONSTRAINT client_merge_moves_record_kind_check",
    "ALTER TABLE client_merge_moves ADD CONSTRAINT client_merge_moves_record_kind_check"
    " CHECK (record_kind IN ('invoice', 'payment', 'credit_lot', 'package_sale'))",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DELETE FROM client_merge_moves WHERE record_kind = 'package_sale'")
    op.execute("ALTER TABLE client_merge_moves DROP CONSTRAINT client_merge_moves_record_kind_check")
    op.execute(
        "ALTER TABLE client_merge_moves ADD CONSTRAINT client_merge_moves_record_kind_check"
        " CHECK (record_kind IN ('invoice', 'payment', 'credit_lot'))"
    )
    op.execute(
        r"""
        CREATE OR REPLACE FUNCTION credit_lots_guard() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF (NEW.tenant_id, NEW.id, NEW.credit_type_id, NEW.amount, NEW.starts_at, NEW.expires_at, NEW.created_at)
               IS DISTINCT FROM
               (OLD.tenant_id, OLD.id, OLD.credit_type_id, OLD.amount, OLD.starts_at, OLD.expires_at, OLD.created_at)
            THEN
                RAISE EXCEPTION 'a lot keeps what it was charged with (only its holder follows client merges)'
                    USING ERRCODE = 'check_violation', CONSTRAINT = 'credit_lots_immutable';
            END IF;
            RETURN NEW;
        END
        $$
        """
    )
    op.execute("ALTER TABLE credit_lots DROP COLUMN package_sale_id")
    for table in ("package_sales", "package_allocations", "packages"):
        op.execute(f"DROP TABLE {table}")
