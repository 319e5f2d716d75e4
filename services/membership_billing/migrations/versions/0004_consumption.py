"""Consumption: which services which credit types pay for (and how many units), and the attendance log.

A check-in names at most one appointment, and an appointment is checked in once; a check-in that consumed
names its ledger transaction.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

MAX_AMOUNT = 10**13

STATEMENTS = [
    rf"""
    CREATE TABLE service_credit_rules (
        tenant_id uuid NOT NULL,
        -- Scheduling's service; billing keeps only its id.
        service_id uuid NOT NULL,
        credit_type_id uuid NOT NULL,
        units bigint NOT NULL CHECK (units BETWEEN 1 AND {MAX_AMOUNT}),
        PRIMARY KEY (tenant_id, service_id, credit_type_id),
        FOREIGN KEY (tenant_id, credit_type_id) REFERENCES credit_types (tenant_id, id)
    )
    """,
    r"""
    CREATE TABLE check_ins (
        tenant_id uuid NOT NULL,
        id uuid NOT NULL,
        client_id uuid NOT NULL,
        checked_in_at timestamptz NOT NULL,
        service_id uuid,
        appointment_id uuid,
        transaction_id uuid,
        method text NOT NULL CHECK (method IN ('staff', 'card')),
        staff_id uuid,
        note text NOT NULL DEFAULT '' CHECK (length(note) <= 500),
        PRIMARY KEY (tenant_id, id),
        FOREIGN KEY (tenant_id, transaction_id) REFERENCES ledger_transactions (tenant_id, id)
    )
    """,
    "CREATE UNIQUE INDEX check_ins_appointment ON check_ins (tenant_id, appointment_id)"
    " WHERE appointment_id IS NOT NULL",
    "CREATE INDEX check_ins_by_client ON check_ins (tenant_id, client_id, id DESC)",
    "ALTER TABLE client_merge_moves DROP CONSTRAINT client_merge_moves_record_kind_check",
    "ALTER TABLE client_merge_moves ADD CONSTRAINT client_merge_moves_record_kind_check"
    " CHECK (record_kind IN ('invoice', 'payment', 'credit_lot', 'package_sale', 'check_in'))",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DELETE FROM client_merge_moves WHERE record_kind = 'check_in'")
    op.execute("ALTER TABLE client_merge_moves DROP CONSTRAINT client_merge_moves_record_kind_check")
    op.execute(
        "ALTER TABLE client_merge_moves ADD CONSTRAINT client_merge_moves_record_kind_check"
        " CHECK (record_kind IN ('invoice', 'payment', 'credit_lot', 'package_sale'))"
    )
    for table in ("check_ins", "service_credit_rules"):
        op.execute(f"DROP TABLE {table}")
