"""Payment-due notices: one row per invoice and stage (due soon, due today, overdue), so each stage is told
once whatever number of replicas look. The loyalty program: one per business, points of a non-money credit
type for payments and visits, redeemed as another credit type.

Revision ID: 0009
Revises: 0006
"""

from alembic import op

revision = "0009"
down_revision = "0007"
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

    op.execute(
        rf"""
        CREATE TABLE loyalty_programs (
            tenant_id uuid PRIMARY KEY,
            points_credit_type_id uuid NOT NULL,
            currency text NOT NULL CHECK (currency = '' OR currency ~ '^[A-Z]{{3}}$'),
            step_minor bigint NOT NULL CHECK (step_minor BETWEEN 0 AND {10**13}),
            points_per_step integer NOT NULL CHECK (points_per_step BETWEEN 0 AND 1000000),
            points_per_visit integer NOT NULL CHECK (points_per_visit BETWEEN 0 AND 1000000),
            validity_days integer CHECK (validity_days BETWEEN 1 AND 3660),
            reward_credit_type_id uuid,
            points_per_reward_unit integer NOT NULL CHECK (points_per_reward_unit BETWEEN 0 AND 1000000),
            updated_at timestamptz NOT NULL,
            FOREIGN KEY (tenant_id, points_credit_type_id) REFERENCES credit_types (tenant_id, id),
            FOREIGN KEY (tenant_id, reward_credit_type_id) REFERENCES credit_types (tenant_id, id),
            CHECK ((step_minor > 0) = (points_per_step > 0) AND (step_minor = 0 OR currency <> '')),
            CHECK ((reward_credit_type_id IS NULL) = (points_per_reward_unit = 0)),
            CHECK (reward_credit_type_id IS DISTINCT FROM points_credit_type_id)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE loyalty_programs")
    op.execute("DROP TABLE payment_due_notices")
