"""An erasure may blank the free text of a client's ledger transactions (their notes), and nothing else of
them: the books stay as they were.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP TRIGGER ledger_transactions_immutable ON ledger_transactions")
    op.execute(
        r"""
        CREATE FUNCTION ledger_transactions_guard() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' OR NEW.note <> '' OR (
                NEW.tenant_id, NEW.id, NEW.kind, NEW.effective_at, NEW.recorded_at, NEW.request_id, NEW.reverses_id
            ) IS DISTINCT FROM (
                OLD.tenant_id, OLD.id, OLD.kind, OLD.effective_at, OLD.recorded_at, OLD.request_id, OLD.reverses_id
            ) THEN
                RAISE EXCEPTION 'ledger transactions are never changed or deleted (an erasure only blanks notes)'
                    USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_transactions_immutable';
            END IF;
            RETURN NEW;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER ledger_transactions_guard BEFORE UPDATE OR DELETE ON ledger_transactions"
        " FOR EACH ROW EXECUTE FUNCTION ledger_transactions_guard()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER ledger_transactions_guard ON ledger_transactions")
    op.execute("DROP FUNCTION ledger_transactions_guard()")
    op.execute(
        "CREATE TRIGGER ledger_transactions_immutable BEFORE UPDATE OR DELETE ON ledger_transactions"
        " FOR EACH ROW EXECUTE FUNCTION ledger_entries_immutable()"
    )
