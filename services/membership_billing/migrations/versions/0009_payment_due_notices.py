"""Payment-due notices: one row per invoice and stage (due soon, due today, overdue), so each stage is told
once whatever number of replicas look.

Revision ID: 0009
Revises: 0006
"""

from alembic import op

revision = "0009"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        r"""
        CREATE TABLE payment_due_notices (
            tenant_id uuid NOT NULL,
            invoice_id uuid NOT NULL,
            stage text NOT NULL CHECK (stage IN ('due_soon', 'due_today', 'overdue')),
            sent_at timestamptz NOT NULL,
            PRIMARY KEY (tenant_id, invoice_id, stage),
            FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE payment_due_notices")
