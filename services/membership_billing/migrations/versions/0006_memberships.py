"""Memberships and the clients' subscriptions to them, with their periods.

The schema holds what a subscription may become: its status is one of five and moves only along the allowed
transitions (a trigger, as invoices'); a frozen one names its freeze and a non-frozen one none; a period
starts once per subscription. A lot may name the subscription that gave it; such a lot's expiry follows the
subscription's freezes and cancellation (nothing else of a lot ever changes), never before a movement it
already had; and while the subscription is frozen nothing is taken from its lots.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

MAX_AMOUNT = 10**13

STATEMENTS = [
    rf"""
    CREATE TABLE memberships (
        tenant_id uuid NOT NULL,
        id uuid NOT NULL,
        name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
        package_id uuid,
        benefits text NOT NULL CHECK (length(benefits) <= 2000),
        duration_count integer NOT NULL,
        duration_unit text NOT NULL CHECK (duration_unit IN ('day', 'month')),
        price_minor bigint NOT NULL CHECK (price_minor BETWEEN 0 AND {MAX_AMOUNT}),
        currency text NOT NULL CHECK (currency ~ '^[A-Z]{{3}}$'),
        tax_rate_bp integer NOT NULL CHECK (tax_rate_bp BETWEEN 0 AND 10000),
        invoicing text NOT NULL CHECK (invoicing IN ('auto', 'draft')),
        payment_terms_days integer NOT NULL CHECK (payment_terms_days BETWEEN 0 AND 365),
        tolerance_days integer NOT NULL CHECK (tolerance_days BETWEEN 0 AND 365),
        auto_renew boolean NOT NULL,
        expiring_notice_days integer NOT NULL CHECK (expiring_notice_days BETWEEN 0 AND 90),
        extras jsonb NOT NULL CHECK (jsonb_typeof(extras) = 'array'),
        created_at timestamptz NOT NULL,
        PRIMARY KEY (tenant_id, id),
        FOREIGN KEY (tenant_id, package_id) REFERENCES packages (tenant_id, id),
        CONSTRAINT memberships_duration CHECK (
            (duration_unit = 'day' AND duration_count BETWEEN 1 AND 3660)
            OR (duration_unit = 'month' AND duration_count BETWEEN 1 AND 120)
        ),
        CONSTRAINT memberships_gives_something CHECK (package_id IS NOT NULL OR length(btrim(benefits)) > 0)
    )
    """,
    "CREATE UNIQUE INDEX memberships_name ON memberships (tenant_id, lower(btrim(name)))",
    rf"""
    CREATE TABLE subscriptions (
        tenant_id uuid NOT NULL,
        id uuid NOT NULL,
        client_id uuid NOT NULL,
        membership_id uuid NOT NULL,
        membership_name text NOT NULL,
        starts_on date NOT NULL,
        expires_on date NOT NULL,
        tolerance_days integer NOT NULL CHECK (tolerance_days BETWEEN 0 AND 365),
        status text NOT NULL CHECK (status IN ('active', 'frozen', 'tolerance', 'expired', 'cancelled')),
        currency text NOT NULL CHECK (currency ~ '^[A-Z]{{3}}$'),
        price_minor bigint NOT NULL CHECK (price_minor BETWEEN 0 AND {MAX_AMOUNT}),
        auto_renew boolean NOT NULL,
        expiring_notice_days integer NOT NULL CHECK (expiring_notice_days BETWEEN 0 AND 90),
        invoice_id uuid,
        frozen_from date,
        frozen_until date,
        -- The business's midnight that starts frozen_until: until then nothing is taken from its lots.
        resumes_at timestamptz,
        freeze_reason text NOT NULL DEFAULT '' CHECK (length(freeze_reason) <= 500),
        notice_sent_for date,
        cancel_reason text NOT NULL DEFAULT '' CHECK (length(cancel_reason) <= 500),
        -- When the calendar next changes something (a worker claims it then); NULL: never again.
        next_review_at timestamptz,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        request_id text CHECK (length(request_id) BETWEEN 1 AND 200),
        version integer NOT NULL DEFAULT 0,
        PRIMARY KEY (tenant_id, id),
        FOREIGN KEY (tenant_id, membership_id) REFERENCES memberships (tenant_id, id),
        FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id),
        CONSTRAINT subscriptions_span CHECK (expires_on >= starts_on),
        CONSTRAINT subscriptions_freeze CHECK (
            (status = 'frozen') = (frozen_from IS NOT NULL)
            AND (frozen_from IS NULL) = (frozen_until IS NULL)
            AND (frozen_from IS NULL) = (resumes_at IS NULL)
            AND (frozen_until IS NULL OR frozen_until > frozen_from)
        )
    )
    """,
    "CREATE UNIQUE INDEX subscriptions_request_id ON subscriptions (tenant_id, request_id)"
    " WHERE request_id IS NOT NULL",
    "CREATE INDEX subscriptions_by_client ON subscriptions (tenant_id, client_id, starts_on DESC)",
    "CREATE INDEX subscriptions_due ON subscriptions (next_review_at) WHERE next_review_at IS NOT NULL",
    r"""
    CREATE FUNCTION subscriptions_transition() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.status <> OLD.status AND (OLD.status, NEW.status) NOT IN (
            ('active', 'frozen'), ('active', 'tolerance'), ('active', 'expired'), ('active', 'cancelled'),
            ('frozen', 'active'), ('frozen', 'tolerance'), ('frozen', 'expired'), ('frozen', 'cancelled'),
            ('tolerance', 'active'), ('tolerance', 'expired'), ('tolerance', 'cancelled'),
            ('expired', 'active')
        ) THEN
            RAISE EXCEPTION 'a subscription does not go from % to %', OLD.status, NEW.status
                USING ERRCODE = 'check_violation', CONSTRAINT = 'subscriptions_transition';
        END IF;
        IF (NEW.tenant_id, NEW.id, NEW.membership_id, NEW.currency, NEW.created_at)
           IS DISTINCT FROM (OLD.tenant_id, OLD.id, OLD.membership_id, OLD.currency, OLD.created_at) THEN
            RAISE EXCEPTION 'a subscription keeps its membership and currency'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'subscriptions_transition';
        END IF;
        RETURN NEW;
    END
    $$
    """,
    "CREATE TRIGGER subscriptions_transition BEFORE UPDATE ON subscriptions"
    " FOR EACH ROW EXECUTE FUNCTION subscriptions_transition()",
    r"""
    CREATE TABLE subscription_periods (
        tenant_id uuid NOT NULL,
        subscription_id uuid NOT NULL,
        starts_on date NOT NULL,
        expires_on date NOT NULL,
        invoice_id uuid,
        kind text NOT NULL CHECK (kind IN ('register', 'renew')),
        request_id text CHECK (length(request_id) BETWEEN 1 AND 200),
        created_at timestamptz NOT NULL,
        PRIMARY KEY (tenant_id, subscription_id, starts_on),
        FOREIGN KEY (tenant_id, subscription_id) REFERENCES subscriptions (tenant_id, id),
        FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id),
        CHECK (expires_on >= starts_on)
    )
    """,
    "CREATE UNIQUE INDEX subscription_periods_request_id ON subscription_periods (tenant_id, request_id)"
    " WHERE request_id IS NOT NULL AND kind = 'renew'",
    "ALTER TABLE credit_lots ADD COLUMN subscription_id uuid",
    "ALTER TABLE credit_lots ADD CONSTRAINT credit_lots_subscription"
    " FOREIGN KEY (tenant_id, subscription_id) REFERENCES subscriptions (tenant_id, id)",
    "CREATE INDEX credit_lots_by_subscription ON credit_lots (tenant_id, subscription_id)"
    " WHERE subscription_id IS NOT NULL",
    # A cancellation ends a lot that has not started yet at its start.
    "ALTER TABLE credit_lots DROP CONSTRAINT credit_lots_valid_span",
    "ALTER TABLE credit_lots ADD CONSTRAINT credit_lots_valid_span CHECK (expires_at >= starts_at)",
    r"""
    CREATE OR REPLACE FUNCTION credit_lots_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF (NEW.tenant_id, NEW.id, NEW.credit_type_id, NEW.amount, NEW.starts_at, NEW.created_at,
            NEW.package_sale_id, NEW.subscription_id)
           IS DISTINCT FROM
           (OLD.tenant_id, OLD.id, OLD.credit_type_id, OLD.amount, OLD.starts_at, OLD.created_at,
            OLD.package_sale_id, OLD.subscription_id)
        THEN
            RAISE EXCEPTION 'a lot keeps what it was charged with (only its holder follows client merges)'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'credit_lots_immutable';
        END IF;
        IF NEW.expires_at IS DISTINCT FROM OLD.expires_at AND (
            NEW.subscription_id IS NULL OR NEW.expires_at IS NULL OR OLD.expires_at IS NULL
            OR EXISTS (SELECT 1 FROM ledger_entries e WHERE e.tenant_id = OLD.tenant_id AND e.lot_id = OLD.id
                       AND (e.account = 'expired' OR (e.kind <> 'charge' AND e.effective_at >= NEW.expires_at)))
        ) THEN
            RAISE EXCEPTION 'only an unexpired lot of a subscription moves its expiry, never before its movements'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'credit_lots_immutable';
        END IF;
        RETURN NEW;
    END
    $$
    """,
    # As 0002's, and a frozen subscription's lots give nothing until it resumes.
    r"""
    CREATE OR REPLACE FUNCTION ledger_entries_within_lot() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        lot record;
        held bigint;
    BEGIN
        SELECT starts_at, expires_at, amount, subscription_id INTO lot FROM credit_lots
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
        IF NEW.kind = 'use' AND lot.subscription_id IS NOT NULL AND EXISTS (
            SELECT 1 FROM subscriptions s WHERE s.tenant_id = NEW.tenant_id AND s.id = lot.subscription_id
                AND s.status = 'frozen' AND NEW.effective_at < s.resumes_at
        ) THEN
            RAISE EXCEPTION 'the lot''s membership is frozen'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_entries_frozen';
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
    # Subscriptions follow client merges like the lots they gave.
    "ALTER TABLE client_merge_moves DROP CONSTRAINT client_merge_moves_record_kind_check",
    "ALTER TABLE client_merge_moves ADD CONSTRAINT client_merge_moves_record_kind_check"
    " CHECK (record_kind IN ('invoice', 'payment', 'credit_lot', 'package_sale', 'check_in', 'subscription'))",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DELETE FROM client_merge_moves WHERE record_kind = 'subscription'")
    op.execute("ALTER TABLE client_merge_moves DROP CONSTRAINT client_merge_moves_record_kind_check")
    op.execute(
        "ALTER TABLE client_merge_moves ADD CONSTRAINT client_merge_moves_record_kind_check"
        " CHECK (record_kind IN ('invoice', 'payment', 'credit_lot', 'package_sale', 'check_in'))"
    )
    op.execute(
        r"""
        CREATE OR REPLACE FUNCTION ledger_entries_within_lot() RETURNS trigger LANGUAGE plpgsql AS $$
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
        """
    )
    op.execute(
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
        """
    )
    op.execute("ALTER TABLE credit_lots DROP CONSTRAINT credit_lots_valid_span")
    op.execute("ALTER TABLE credit_lots ADD CONSTRAINT credit_lots_valid_span CHECK (expires_at > starts_at)")
    op.execute("ALTER TABLE credit_lots DROP COLUMN subscription_id")
    op.execute("DROP TABLE subscription_periods")
    op.execute("DROP TABLE subscriptions")
    op.execute("DROP FUNCTION subscriptions_transition()")
    op.execute("DROP TABLE memberships")
