"""The entitlement ledger: credit types, lots (one per charge) and immutable double-entry transactions.

The schema holds the ledger's invariants whatever the code does: entries are never updated or deleted; the
entries of a transaction add up to zero (checked at commit); what a client holds of a lot (the sum of its
``client`` entries) never goes below zero, checked under the lot's row lock, so of two transactions taking
the last unit the second sees the first and fails; nothing leaves a lot's holding outside its validity
except its one expiry entry; a lot belongs to one client and one credit type of its business.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

MAX_AMOUNT = 10**13

STATEMENTS = [
    r"""
    CREATE TABLE credit_types (
        tenant_id uuid NOT NULL,
        id uuid NOT NULL,
        name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
        unit text NOT NULL CHECK (length(btrim(unit)) BETWEEN 1 AND 40),
        currency text CHECK (currency ~ '^[A-Z]{3}$'),
        created_at timestamptz NOT NULL,
        PRIMARY KEY (tenant_id, id),
        CONSTRAINT credit_types_money_unit CHECK (currency IS NULL OR unit = currency)
    )
    """,
    "CREATE UNIQUE INDEX credit_types_name ON credit_types (tenant_id, lower(btrim(name)))",
    rf"""
    CREATE TABLE credit_lots (
        tenant_id uuid NOT NULL,
        id uuid NOT NULL,
        -- The holder; a client merge re-points it (and an unmerge returns it), the entries never change.
        client_id uuid NOT NULL,
        credit_type_id uuid NOT NULL,
        amount bigint NOT NULL CHECK (amount BETWEEN 1 AND {MAX_AMOUNT}),
        starts_at timestamptz NOT NULL,
        expires_at timestamptz,
        note text NOT NULL DEFAULT '' CHECK (length(note) <= 500),
        created_at timestamptz NOT NULL,
        PRIMARY KEY (tenant_id, id),
        FOREIGN KEY (tenant_id, credit_type_id) REFERENCES credit_types (tenant_id, id),
        CONSTRAINT credit_lots_valid_span CHECK (expires_at > starts_at)
    )
    """,
    "CREATE INDEX credit_lots_by_holder ON credit_lots (tenant_id, client_id, credit_type_id, expires_at)",
    "CREATE INDEX credit_lots_by_expiry ON credit_lots (expires_at) WHERE expires_at IS NOT NULL",
    r"""
    CREATE FUNCTION credit_lots_guard() RETURNS trigger LANGUAGE plpgsql AS $$
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
    """,
    "CREATE TRIGGER credit_lots_guard BEFORE UPDATE ON credit_lots FOR EACH ROW EXECUTE FUNCTION credit_lots_guard()",
    r"""
    CREATE TABLE ledger_transactions (
        tenant_id uuid NOT NULL,
        id uuid NOT NULL,
        kind text NOT NULL CHECK (kind IN ('charge', 'use', 'expire', 'reverse')),
        effective_at timestamptz NOT NULL,
        recorded_at timestamptz NOT NULL,
        note text NOT NULL DEFAULT '' CHECK (length(note) <= 500),
        request_id text CHECK (length(request_id) BETWEEN 1 AND 200),
        reverses_id uuid,
        PRIMARY KEY (tenant_id, id),
        FOREIGN KEY (tenant_id, reverses_id) REFERENCES ledger_transactions (tenant_id, id),
        CONSTRAINT ledger_transactions_reversal CHECK ((kind = 'reverse') = (reverses_id IS NOT NULL))
    )
    """,
    "CREATE UNIQUE INDEX ledger_transactions_request_id ON ledger_transactions (tenant_id, request_id)"
    " WHERE request_id IS NOT NULL",
    # A use is given back once.
    "CREATE UNIQUE INDEX ledger_transactions_reversed_once ON ledger_transactions (tenant_id, reverses_id)"
    " WHERE reverses_id IS NOT NULL",
    r"""
    CREATE TABLE ledger_entries (
        tenant_id uuid NOT NULL,
        transaction_id uuid NOT NULL,
        lot_id uuid NOT NULL,
        account text NOT NULL CHECK (account IN ('client', 'issued', 'used', 'expired')),
        amount bigint NOT NULL CHECK (amount <> 0),
        -- The transaction's, kept on each entry so a balance as of a moment is one indexed sum.
        effective_at timestamptz NOT NULL,
        kind text NOT NULL,
        PRIMARY KEY (tenant_id, transaction_id, lot_id, account),
        FOREIGN KEY (tenant_id, transaction_id) REFERENCES ledger_transactions (tenant_id, id),
        FOREIGN KEY (tenant_id, lot_id) REFERENCES credit_lots (tenant_id, id),
        -- Which way each kind moves units between accounts.
        CONSTRAINT ledger_entries_direction CHECK (
            CASE kind
                WHEN 'charge' THEN (account = 'issued' AND amount < 0) OR (account = 'client' AND amount > 0)
                WHEN 'use' THEN (account = 'client' AND amount < 0) OR (account = 'used' AND amount > 0)
                WHEN 'expire' THEN (account = 'client' AND amount < 0) OR (account = 'expired' AND amount > 0)
                WHEN 'reverse' THEN (account = 'used' AND amount < 0) OR (account = 'client' AND amount > 0)
                ELSE false
            END
        )
    )
    """,
    "CREATE INDEX ledger_entries_by_lot ON ledger_entries (tenant_id, lot_id, effective_at)"
    " INCLUDE (amount) WHERE account = 'client'",
    # A lot expires once.
    "CREATE UNIQUE INDEX ledger_entries_expired_once ON ledger_entries (tenant_id, lot_id) WHERE account = 'expired'",
    r"""
    CREATE FUNCTION ledger_entries_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'ledger entries are never changed or deleted'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_entries_immutable';
    END
    $$
    """,
    "CREATE TRIGGER ledger_entries_immutable BEFORE UPDATE OR DELETE ON ledger_entries"
    " FOR EACH ROW EXECUTE FUNCTION ledger_entries_immutable()",
    "CREATE TRIGGER ledger_transactions_immutable BEFORE UPDATE OR DELETE ON ledger_transactions"
    " FOR EACH ROW EXECUTE FUNCTION ledger_entries_immutable()",
    # The holding of a lot: taken under the lot's row lock, so concurrent takers queue and each sees what
    # the one before it committed (each statement of READ COMMITTED reads the latest committed rows).
    r"""
    CREATE FUNCTION ledger_entries_within_lot() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        lot record;
        held bigint;
    BEGIN
        SELECT starts_at, expires_at, amount INTO lot FROM credit_lots
            WHERE tenant_id = NEW.tenant_id AND id = NEW.lot_id FOR UPDATE;
        IF NEW.kind = 'expire' THEN
            IF lot.expires_at IS NULL OR NEW.effective_at <> lot.expires_at THEN
                RAISE EXCEPTION 'a lot expires at its expiry'
                    USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_entries_within_validity';
            END IF;
        ELSIF NEW.kind <> 'charge' AND (NEW.effective_at < lot.starts_at
              OR (lot.expires_at IS NOT NULL AND NEW.effective_at >= lot.expires_at)) THEN
            RAISE EXCEPTION 'a lot is used only while it is valid'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_entries_within_validity';
        END IF;
        SELECT coalesce(sum(amount), 0) INTO held FROM ledger_entries
            WHERE tenant_id = NEW.tenant_id AND lot_id = NEW.lot_id AND account = 'client';
        IF held < 0 OR held > lot.amount THEN
            RAISE EXCEPTION 'the lot would hold % of its %', held, lot.amount
                USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_entries_lot_overdrawn';
        END IF;
        RETURN NULL;
    END
    $$
    """,
    "CREATE TRIGGER ledger_entries_within_lot AFTER INSERT ON ledger_entries"
    " FOR EACH ROW WHEN (NEW.account = 'client') EXECUTE FUNCTION ledger_entries_within_lot()",
    # Double entry: checked when the transaction commits, once all its entries are in.
    r"""
    CREATE FUNCTION ledger_transactions_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        total bigint;
        entry_count bigint;
    BEGIN
        SELECT coalesce(sum(amount), 0), count(*) INTO total, entry_count FROM ledger_entries
            WHERE tenant_id = NEW.tenant_id AND transaction_id = NEW.id;
        IF total <> 0 OR entry_count = 0 THEN
            RAISE EXCEPTION 'the entries of ledger transaction % add up to % (% entries)', NEW.id, total, entry_count
                USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_transactions_balanced';
        END IF;
        RETURN NULL;
    END
    $$
    """,
    "CREATE CONSTRAINT TRIGGER ledger_transactions_balanced AFTER INSERT ON ledger_transactions"
    " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_transactions_balanced()",
    # Lots follow client merges like invoices and payments.
    "ALTER TABLE client_merge_moves DROP CONSTRAINT client_merge_moves_record_kind_check",
    "ALTER TABLE client_merge_moves ADD CONSTRAINT client_merge_moves_record_kind_check"
    " CHECK (record_kind IN ('invoice', 'payment', 'credit_lot'))",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DELETE FROM client_merge_moves WHERE record_kind = 'credit_lot'")
    op.execute("ALTER TABLE client_merge_moves DROP CONSTRAINT client_merge_moves_record_kind_check")
    op.execute(
        "ALTER TABLE client_merge_moves ADD CONSTRAINT client_merge_moves_record_kind_check"
        " CHECK (record_kind IN ('invoice', 'payment'))"
    )
    for table in ("ledger_entries", "ledger_transactions", "credit_lots", "credit_types"):
        op.execute(f"DROP TABLE {table}")
    for function in (
        "ledger_transactions_balanced",
        "ledger_entries_within_lot",
        "ledger_entries_immutable",
        "credit_lots_guard",
    ):
        op.execute(f"DROP FUNCTION {function}()")
