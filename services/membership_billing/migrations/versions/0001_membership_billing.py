"""Invoices with their lines, payments with their allocations, the per-tenant invoice counter, the records
client merges moved; the messaging tables.

The schema holds what must never be wrong, whatever the code does: invoice numbers are unique per tenant
and handed out from one counter row per tenant (updated in the issuing transaction, so concurrent issues
queue on it and a rolled-back issue gives its number back: no gaps, no collisions); each line's rounding
is checked against its quantity, price and rate; an issued invoice's totals equal its lines' and never
change; status changes follow draft -> issued -> partially_paid -> paid (back on a refund), draft/issued
-> void; paid amounts stay within the total; a payment's allocations stay within its amount, its
currency and its client.

Revision ID: 0001
Revises:
"""

from alembic import op

from platform_core.messaging import schema as messaging_schema

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

MAX_AMOUNT = 10**13

STATEMENTS = [
    r"""
    CREATE TABLE invoice_counters (
        tenant_id uuid PRIMARY KEY,
        last_number bigint NOT NULL CHECK (last_number >= 1)
    )
    """,
    rf"""
    CREATE TABLE invoices (
        tenant_id uuid NOT NULL,
        id uuid NOT NULL,
        client_id uuid NOT NULL,
        kind text NOT NULL CHECK (kind IN ('standard', 'opening_balance')),
        status text NOT NULL CHECK (status IN ('draft', 'issued', 'partially_paid', 'paid', 'void')),
        number bigint CHECK (number >= 1),
        currency text NOT NULL CHECK (currency ~ '^[A-Z]{{3}}$'),
        subtotal_minor bigint NOT NULL CHECK (subtotal_minor >= 0),
        tax_minor bigint NOT NULL CHECK (tax_minor >= 0),
        total_minor bigint NOT NULL CHECK (total_minor BETWEEN 0 AND {MAX_AMOUNT}),
        paid_minor bigint NOT NULL DEFAULT 0,
        payment_terms_days integer NOT NULL CHECK (payment_terms_days BETWEEN 0 AND 365),
        issue_date date,
        due_date date,
        bill_to_name text NOT NULL DEFAULT '' CHECK (length(bill_to_name) <= 300),
        notes text NOT NULL DEFAULT '' CHECK (length(notes) <= 2000),
        void_reason text NOT NULL DEFAULT '' CHECK (length(void_reason) <= 500),
        -- The event an invoice was made from (an opening balance from ClientCreated).
        source_event_id uuid,
        version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (tenant_id, id),
        CONSTRAINT invoices_totals_add_up CHECK (total_minor = subtotal_minor + tax_minor),
        CONSTRAINT invoices_paid_within_total CHECK (paid_minor BETWEEN 0 AND total_minor),
        CONSTRAINT invoices_paid_matches_status CHECK (
            (status IN ('draft', 'issued', 'void') AND paid_minor = 0)
            OR (status = 'partially_paid' AND paid_minor > 0 AND paid_minor < total_minor)
            OR (status = 'paid' AND paid_minor = total_minor)
        ),
        -- Standard invoices are numbered exactly when issued; opening balances never are.
        CONSTRAINT invoices_numbered_when_issued CHECK (
            CASE kind WHEN 'opening_balance' THEN number IS NULL ELSE (number IS NULL) = (issue_date IS NULL) END
        ),
        CONSTRAINT invoices_dated_when_issued CHECK (
            (issue_date IS NULL) = (due_date IS NULL)
            AND (status <> 'draft' OR issue_date IS NULL)
            AND (status IN ('draft', 'void') OR issue_date IS NOT NULL)
            AND due_date >= issue_date
        ),
        CONSTRAINT invoices_void_has_reason CHECK (status <> 'void' OR void_reason <> '')
    )
    """,
    "CREATE UNIQUE INDEX invoices_number ON invoices (tenant_id, number)",
    "CREATE UNIQUE INDEX invoices_source_event ON invoices (tenant_id, source_event_id)"
    " WHERE source_event_id IS NOT NULL",
    "CREATE INDEX invoices_by_client ON invoices (tenant_id, client_id, id DESC)",
    "CREATE INDEX invoices_by_tenant ON invoices (tenant_id, id DESC)",
    "CREATE INDEX invoices_open ON invoices (tenant_id, client_id, currency, due_date)"
    " WHERE status IN ('issued', 'partially_paid')",
    "CREATE INDEX invoices_open_by_due ON invoices (tenant_id, due_date) WHERE status IN ('issued', 'partially_paid')",
    rf"""
    CREATE TABLE invoice_lines (
        tenant_id uuid NOT NULL,
        invoice_id uuid NOT NULL,
        position integer NOT NULL CHECK (position >= 0),
        description text NOT NULL CHECK (length(btrim(description)) BETWEEN 1 AND 500),
        quantity numeric(11, 4) NOT NULL CHECK (quantity > 0),
        unit_price_minor bigint NOT NULL CHECK (unit_price_minor BETWEEN 0 AND {MAX_AMOUNT}),
        tax_rate_bp integer NOT NULL CHECK (tax_rate_bp BETWEEN 0 AND 10000),
        appointment_id uuid,
        net_minor bigint NOT NULL,
        tax_minor bigint NOT NULL,
        total_minor bigint NOT NULL,
        PRIMARY KEY (tenant_id, invoice_id, position),
        FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id) ON DELETE CASCADE,
        -- The rounding rule (per line, half up; numeric round() rounds halves away from zero, and these
        -- amounts are never negative).
        CONSTRAINT invoice_lines_net_rounded CHECK (net_minor = round(quantity * unit_price_minor)),
        CONSTRAINT invoice_lines_tax_rounded CHECK (tax_minor = round(net_minor * tax_rate_bp::numeric / 10000)),
        CONSTRAINT invoice_lines_total CHECK (total_minor = net_minor + tax_minor)
    )
    """,
    "CREATE INDEX invoice_lines_by_appointment ON invoice_lines (tenant_id, appointment_id)"
    " WHERE appointment_id IS NOT NULL",
    # Allowed status changes, and what an issued invoice may still change: its payments (paid_minor and the
    # status they imply), its client (a merge re-points it) and its notes only to empty (an erasure).
    r"""
    CREATE FUNCTION invoices_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        line_net bigint;
        line_tax bigint;
    BEGIN
        IF NEW.status IS DISTINCT FROM OLD.status AND NOT (
            (OLD.status = 'draft' AND NEW.status IN ('issued', 'void'))
            OR (OLD.status = 'issued' AND NEW.status IN ('partially_paid', 'paid', 'void'))
            OR (OLD.status = 'partially_paid' AND NEW.status IN ('issued', 'paid'))
            OR (OLD.status = 'paid' AND NEW.status IN ('issued', 'partially_paid'))
        ) THEN
            RAISE EXCEPTION 'invoice status cannot change from % to %', OLD.status, NEW.status
                USING ERRCODE = 'check_violation', CONSTRAINT = 'invoices_status_transition';
        END IF;
        IF NEW.tenant_id <> OLD.tenant_id OR NEW.id <> OLD.id OR NEW.kind <> OLD.kind
            OR NEW.source_event_id IS DISTINCT FROM OLD.source_event_id THEN
            RAISE EXCEPTION 'an invoice keeps its identity'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'invoices_immutable';
        END IF;
        IF OLD.status <> 'draft' AND (
            NEW.currency, NEW.subtotal_minor, NEW.tax_minor, NEW.total_minor, NEW.number, NEW.issue_date,
            NEW.due_date, NEW.payment_terms_days, NEW.bill_to_name
        ) IS DISTINCT FROM (
            OLD.currency, OLD.subtotal_minor, OLD.tax_minor, OLD.total_minor, OLD.number, OLD.issue_date,
            OLD.due_date, OLD.payment_terms_days, OLD.bill_to_name
        ) OR (OLD.status <> 'draft' AND NEW.notes <> OLD.notes AND NEW.notes <> '')
          OR (OLD.status = 'void' AND NEW.void_reason <> OLD.void_reason) THEN
            RAISE EXCEPTION 'an issued invoice cannot change (only payments, a void or its client)'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'invoices_immutable';
        END IF;
        IF OLD.status = 'draft' AND NEW.status = 'issued' THEN
            SELECT coalesce(sum(net_minor), 0), coalesce(sum(tax_minor), 0) INTO line_net, line_tax
                FROM invoice_lines WHERE tenant_id = NEW.tenant_id AND invoice_id = NEW.id;
            IF line_net <> NEW.subtotal_minor OR line_tax <> NEW.tax_minor THEN
                RAISE EXCEPTION 'invoice totals (% + %) are not its lines'' (% + %)',
                    NEW.subtotal_minor, NEW.tax_minor, line_net, line_tax
                    USING ERRCODE = 'check_violation', CONSTRAINT = 'invoices_totals_match_lines';
            END IF;
        END IF;
        RETURN NEW;
    END
    $$
    """,
    "CREATE TRIGGER invoices_guard BEFORE UPDATE ON invoices FOR EACH ROW EXECUTE FUNCTION invoices_guard()",
    # Lines change only while their invoice is a draft.
    r"""
    CREATE FUNCTION invoice_lines_draft_only() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        target record;
        invoice_status text;
    BEGIN
        IF TG_OP = 'DELETE' THEN target := OLD; ELSE target := NEW; END IF;
        SELECT status INTO invoice_status FROM invoices WHERE tenant_id = target.tenant_id AND id = target.invoice_id;
        IF invoice_status IS DISTINCT FROM 'draft' THEN
            RAISE EXCEPTION 'the lines of a % invoice cannot change', invoice_status
                USING ERRCODE = 'check_violation', CONSTRAINT = 'invoice_lines_draft_only';
        END IF;
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END
    $$
    """,
    "CREATE TRIGGER invoice_lines_draft_only BEFORE INSERT OR UPDATE OR DELETE ON invoice_lines"
    " FOR EACH ROW EXECUTE FUNCTION invoice_lines_draft_only()",
    rf"""
    CREATE TABLE payments (
        tenant_id uuid NOT NULL,
        id uuid NOT NULL,
        client_id uuid NOT NULL,
        amount_minor bigint NOT NULL CHECK (amount_minor BETWEEN 1 AND {MAX_AMOUNT}),
        currency text NOT NULL CHECK (currency ~ '^[A-Z]{{3}}$'),
        method text NOT NULL CHECK (method IN ('cash', 'card', 'bank_transfer', 'other', 'opening_balance')),
        received_at timestamptz NOT NULL,
        reference text NOT NULL DEFAULT '' CHECK (length(reference) <= 200),
        notes text NOT NULL DEFAULT '' CHECK (length(notes) <= 2000),
        status text NOT NULL CHECK (status IN ('recorded', 'refunded')),
        refund_reason text NOT NULL DEFAULT '' CHECK (length(refund_reason) <= 500),
        refunded_at timestamptz,
        request_id text CHECK (length(request_id) BETWEEN 1 AND 200),
        source_event_id uuid,
        created_at timestamptz NOT NULL,
        PRIMARY KEY (tenant_id, id),
        CONSTRAINT payments_refund_recorded CHECK ((status = 'refunded') = (refunded_at IS NOT NULL))
    )
    """,
    "CREATE UNIQUE INDEX payments_request_id ON payments (tenant_id, request_id) WHERE request_id IS NOT NULL",
    "CREATE UNIQUE INDEX payments_source_event ON payments (tenant_id, source_event_id)"
    " WHERE source_event_id IS NOT NULL",
    "CREATE INDEX payments_by_client ON payments (tenant_id, client_id, id DESC)",
    "CREATE INDEX payments_by_tenant ON payments (tenant_id, id DESC)",
    # A payment's amount, currency and method are what was received; only a refund (once) changes it.
    r"""
    CREATE FUNCTION payments_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF (NEW.tenant_id, NEW.id, NEW.amount_minor, NEW.currency, NEW.method, NEW.received_at, NEW.reference,
            NEW.request_id, NEW.source_event_id)
           IS DISTINCT FROM
           (OLD.tenant_id, OLD.id, OLD.amount_minor, OLD.currency, OLD.method, OLD.received_at, OLD.reference,
            OLD.request_id, OLD.source_event_id)
           OR (OLD.status = 'refunded' AND (NEW.status <> 'refunded' OR NEW.refund_reason <> OLD.refund_reason
               OR NEW.refunded_at <> OLD.refunded_at)) THEN
            RAISE EXCEPTION 'a payment cannot change (only be refunded once)'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'payments_immutable';
        END IF;
        RETURN NEW;
    END
    $$
    """,
    "CREATE TRIGGER payments_guard BEFORE UPDATE ON payments FOR EACH ROW EXECUTE FUNCTION payments_guard()",
    r"""
    CREATE TABLE payment_allocations (
        tenant_id uuid NOT NULL,
        payment_id uuid NOT NULL,
        invoice_id uuid NOT NULL,
        amount_minor bigint NOT NULL CHECK (amount_minor > 0),
        PRIMARY KEY (tenant_id, payment_id, invoice_id),
        FOREIGN KEY (tenant_id, payment_id) REFERENCES payments (tenant_id, id),
        FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id)
    )
    """,
    "CREATE INDEX payment_allocations_by_invoice ON payment_allocations (tenant_id, invoice_id)",
    r"""
    CREATE FUNCTION payment_allocations_check() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        payment record;
        invoice record;
        allocated bigint;
    BEGIN
        SELECT client_id, currency, amount_minor INTO payment FROM payments
            WHERE tenant_id = NEW.tenant_id AND id = NEW.payment_id;
        SELECT client_id, currency INTO invoice FROM invoices WHERE tenant_id = NEW.tenant_id AND id = NEW.invoice_id;
        SELECT sum(amount_minor) INTO allocated FROM payment_allocations
            WHERE tenant_id = NEW.tenant_id AND payment_id = NEW.payment_id;
        IF invoice.currency <> payment.currency OR invoice.client_id <> payment.client_id
            OR allocated > payment.amount_minor THEN
            RAISE EXCEPTION 'an allocation must stay within its payment''s amount, currency and client'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'payment_allocations_within_payment';
        END IF;
        RETURN NULL;
    END
    $$
    """,
    "CREATE TRIGGER payment_allocations_check AFTER INSERT OR UPDATE ON payment_allocations"
    " FOR EACH ROW EXECUTE FUNCTION payment_allocations_check()",
    # Invoices and payments re-pointed by client merges, so an unmerge can give each back.
    r"""
    CREATE TABLE client_merge_moves (
        tenant_id uuid NOT NULL,
        merge_id uuid NOT NULL,
        record_kind text NOT NULL CHECK (record_kind IN ('invoice', 'payment')),
        record_id uuid NOT NULL,
        original_client_id uuid NOT NULL,
        PRIMARY KEY (tenant_id, merge_id, record_kind, record_id)
    )
    """,
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
    messaging_schema.create_v1(op)


def downgrade() -> None:
    messaging_schema.drop_v1(op)
    for table in ("client_merge_moves", "payment_allocations", "payments", "invoice_lines", "invoices"):
        op.execute(f"DROP TABLE {table}")
    op.execute("DROP TABLE invoice_counters")
    for function in ("payment_allocations_check", "payments_guard", "invoice_lines_draft_only", "invoices_guard"):
        op.execute(f"DROP FUNCTION {function}()")
