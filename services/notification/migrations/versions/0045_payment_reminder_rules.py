"""A business's payment reminder rule (days before, on and after the due date, channels, local time), and
the invoices' facts reminders are planned from, so a refund that reopens a paid invoice plans them again.

Revision ID: 0045
Revises: 0044
"""

from alembic import op

revision = "0045"
down_revision = "0044"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE payment_reminder_rules (
            tenant_id uuid PRIMARY KEY,
            -- Days relative to the due date: negative before, 0 on the day, positive overdue.
            days integer[] NOT NULL CHECK (cardinality(days) BETWEEN 1 AND 6 AND -60 <= ALL (days)
                AND 90 >= ALL (days)),
            channels text[] NOT NULL
                CHECK (cardinality(channels) >= 1 AND channels <@ ARRAY['email', 'sms', 'in_app']),
            send_at time NOT NULL,
            updated_at timestamptz NOT NULL
        )
        """
    )
    # Fed by billing's InvoiceIssued, InvoicePaid, InvoiceVoided and PaymentRefunded.
    op.execute(
        """
        CREATE TABLE invoice_facts (
            tenant_id uuid NOT NULL,
            invoice_id uuid NOT NULL,
            client_id uuid NOT NULL,
            number bigint NOT NULL,
            currency text NOT NULL,
            total_minor bigint NOT NULL,
            due_date date,
            state text NOT NULL CHECK (state IN ('open', 'paid', 'voided')),
            updated_at timestamptz NOT NULL,
            PRIMARY KEY (tenant_id, invoice_id)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE invoice_facts")
    op.execute("DROP TABLE payment_reminder_rules")
