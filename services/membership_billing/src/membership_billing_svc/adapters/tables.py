"""The billing tables as SQLAlchemy Core objects.

The tables state the whole migrated schema (tests/integration/test_schema.py holds them to it): columns, keys,
foreign keys, indexes and server defaults. CHECK constraints and triggers are not restated: they live in
migrations/ alone, and a comment at each table names its CHECKs.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    Numeric,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from client_contract.following import merge_moves_table
from platform_core.db import DEFAULT_EMPTY, DEFAULT_ONE, DEFAULT_ZERO
from platform_core.messaging.schema import define_tables

metadata = MetaData()


# CHECKs (migrations/ only): credit_types_money_unit, credit_types_currency_check, credit_types_name_check,
# credit_types_unit_check.
credit_types = Table(
    "credit_types",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("name", Text, nullable=False),
    Column("unit", Text, nullable=False),
    Column("currency", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# CHECKs (migrations/ only): invoice_counters_last_number_check.
invoice_counters = Table(
    "invoice_counters",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("last_number", BigInteger, nullable=False),
)

# CHECKs (migrations/ only): invoices_numbered_when_issued, invoices_dated_when_issued,
# invoices_paid_matches_status, invoices_currency_check, invoices_kind_check, invoices_bill_to_name_check,
# invoices_notes_check, invoices_void_reason_check, invoices_number_check, invoices_paid_within_total,
# invoices_payment_terms_days_check, invoices_void_has_reason, invoices_status_check, invoices_subtotal_minor_check,
# invoices_tax_minor_check, invoices_totals_add_up, invoices_total_minor_check, invoices_version_check.
invoices = Table(
    "invoices",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), nullable=False),
    Column("kind", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("number", BigInteger),
    Column("currency", Text, nullable=False),
    Column("subtotal_minor", BigInteger, nullable=False),
    Column("tax_minor", BigInteger, nullable=False),
    Column("total_minor", BigInteger, nullable=False),
    Column("paid_minor", BigInteger, nullable=False, server_default=DEFAULT_ZERO),
    Column("payment_terms_days", Integer, nullable=False),
    Column("issue_date", Date),
    Column("due_date", Date),
    Column("bill_to_name", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("notes", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("void_reason", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("source_event_id", UUID(as_uuid=True)),
    Column("version", Integer, nullable=False, server_default=DEFAULT_ONE),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("invoices_number", "tenant_id", "number", unique=True),
    Index(
        "invoices_open",
        "tenant_id",
        "client_id",
        "currency",
        "due_date",
        postgresql_where="(status = ANY (ARRAY['issued'::text, 'partially_paid'::text]))",
    ),
    Index(
        "invoices_open_by_due",
        "tenant_id",
        "due_date",
        postgresql_where="(status = ANY (ARRAY['issued'::text, 'partially_paid'::text]))",
    ),
    Index(
        "invoices_source_event",
        "tenant_id",
        "source_event_id",
        postgresql_where="(source_event_id IS NOT NULL)",
        unique=True,
    ),
)

# CHECKs (migrations/ only): ledger_transactions_reversal, ledger_transactions_kind_check,
# ledger_transactions_note_check, ledger_transactions_request_id_check.
ledger_transactions = Table(
    "ledger_transactions",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("kind", Text, nullable=False),
    Column("effective_at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("note", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("request_id", Text),
    Column("reverses_id", UUID(as_uuid=True)),
    ForeignKeyConstraint(
        ["tenant_id", "reverses_id"],
        ["ledger_transactions.tenant_id", "ledger_transactions.id"],
        name="ledger_transactions_tenant_id_reverses_id_fkey",
    ),
    Index(
        "ledger_transactions_request_id",
        "tenant_id",
        "request_id",
        postgresql_where="(request_id IS NOT NULL)",
        unique=True,
    ),
    Index(
        "ledger_transactions_reversed_once",
        "tenant_id",
        "reverses_id",
        postgresql_where="(reverses_id IS NOT NULL)",
        unique=True,
    ),
)

# CHECKs (migrations/ only): packages_currency_check, packages_invoicing_check, packages_name_check,
# packages_payment_terms_days_check, packages_price_minor_check, packages_tax_rate_bp_check,
# packages_validity_days_check.
packages = Table(
    "packages",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("name", Text, nullable=False),
    Column("validity_days", Integer),
    Column("price_minor", BigInteger, nullable=False),
    Column("currency", Text, nullable=False),
    Column("tax_rate_bp", Integer, nullable=False),
    Column("invoicing", Text, nullable=False),
    Column("payment_terms_days", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# CHECKs (migrations/ only): payments_refund_recorded, payments_amount_minor_check, payments_currency_check,
# payments_notes_check, payments_reference_check, payments_refund_reason_check, payments_request_id_check,
# payments_method_check, payments_status_check.
payments = Table(
    "payments",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", Text, nullable=False),
    Column("method", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("reference", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("notes", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("status", Text, nullable=False),
    Column("refund_reason", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("refunded_at", DateTime(timezone=True)),
    Column("request_id", Text),
    Column("source_event_id", UUID(as_uuid=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("payments_request_id", "tenant_id", "request_id", postgresql_where="(request_id IS NOT NULL)", unique=True),
    Index(
        "payments_source_event",
        "tenant_id",
        "source_event_id",
        postgresql_where="(source_event_id IS NOT NULL)",
        unique=True,
    ),
)

# CHECKs (migrations/ only): check_ins_note_check, check_ins_method_check.
check_ins = Table(
    "check_ins",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), nullable=False),
    Column("checked_in_at", DateTime(timezone=True), nullable=False),
    Column("service_id", UUID(as_uuid=True)),
    Column("appointment_id", UUID(as_uuid=True)),
    Column("transaction_id", UUID(as_uuid=True)),
    Column("method", Text, nullable=False),
    Column("staff_id", UUID(as_uuid=True)),
    Column("note", Text, nullable=False, server_default=DEFAULT_EMPTY),
    ForeignKeyConstraint(
        ["tenant_id", "transaction_id"],
        ["ledger_transactions.tenant_id", "ledger_transactions.id"],
        name="check_ins_tenant_id_transaction_id_fkey",
    ),
    Index(
        "check_ins_appointment",
        "tenant_id",
        "appointment_id",
        postgresql_where="(appointment_id IS NOT NULL)",
        unique=True,
    ),
)

# CHECKs (migrations/ only): invoice_lines_position_check, invoice_lines_description_check,
# invoice_lines_net_rounded, invoice_lines_quantity_check, invoice_lines_tax_rounded,
# invoice_lines_tax_rate_bp_check, invoice_lines_total, invoice_lines_unit_price_minor_check.
invoice_lines = Table(
    "invoice_lines",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("invoice_id", UUID(as_uuid=True), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("description", Text, nullable=False),
    Column("quantity", Numeric(11, 4), nullable=False),
    Column("unit_price_minor", BigInteger, nullable=False),
    Column("tax_rate_bp", Integer, nullable=False),
    Column("appointment_id", UUID(as_uuid=True)),
    Column("net_minor", BigInteger, nullable=False),
    Column("tax_minor", BigInteger, nullable=False),
    Column("total_minor", BigInteger, nullable=False),
    ForeignKeyConstraint(
        ["tenant_id", "invoice_id"],
        ["invoices.tenant_id", "invoices.id"],
        ondelete="CASCADE",
        name="invoice_lines_tenant_id_invoice_id_fkey",
    ),
    Index(
        "invoice_lines_by_appointment", "tenant_id", "appointment_id", postgresql_where="(appointment_id IS NOT NULL)"
    ),
)

# CHECKs (migrations/ only): package_allocations_amount_check.
package_allocations = Table(
    "package_allocations",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("package_id", UUID(as_uuid=True), primary_key=True),
    Column("credit_type_id", UUID(as_uuid=True), primary_key=True),
    Column("amount", BigInteger, nullable=False),
    ForeignKeyConstraint(
        ["tenant_id", "credit_type_id"],
        ["credit_types.tenant_id", "credit_types.id"],
        name="package_allocations_tenant_id_credit_type_id_fkey",
    ),
    ForeignKeyConstraint(
        ["tenant_id", "package_id"],
        ["packages.tenant_id", "packages.id"],
        name="package_allocations_tenant_id_package_id_fkey",
    ),
)

# CHECKs (migrations/ only): package_sales_check, package_sales_request_id_check.
package_sales = Table(
    "package_sales",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("package_id", UUID(as_uuid=True), nullable=False),
    Column("client_id", UUID(as_uuid=True), nullable=False),
    Column("invoice_id", UUID(as_uuid=True)),
    Column("first_day", Date, nullable=False),
    Column("last_day", Date),
    Column("sold_at", DateTime(timezone=True), nullable=False),
    Column("request_id", Text),
    ForeignKeyConstraint(
        ["tenant_id", "invoice_id"],
        ["invoices.tenant_id", "invoices.id"],
        name="package_sales_tenant_id_invoice_id_fkey",
    ),
    ForeignKeyConstraint(
        ["tenant_id", "package_id"],
        ["packages.tenant_id", "packages.id"],
        name="package_sales_tenant_id_package_id_fkey",
    ),
    Index(
        "package_sales_request_id", "tenant_id", "request_id", postgresql_where="(request_id IS NOT NULL)", unique=True
    ),
)

# CHECKs (migrations/ only): payment_allocations_amount_minor_check.
payment_allocations = Table(
    "payment_allocations",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("payment_id", UUID(as_uuid=True), primary_key=True),
    Column("invoice_id", UUID(as_uuid=True), primary_key=True),
    Column("amount_minor", BigInteger, nullable=False),
    ForeignKeyConstraint(
        ["tenant_id", "invoice_id"],
        ["invoices.tenant_id", "invoices.id"],
        name="payment_allocations_tenant_id_invoice_id_fkey",
    ),
    ForeignKeyConstraint(
        ["tenant_id", "payment_id"],
        ["payments.tenant_id", "payments.id"],
        name="payment_allocations_tenant_id_payment_id_fkey",
    ),
    Index("payment_allocations_by_invoice", "tenant_id", "invoice_id"),
)

# CHECKs (migrations/ only): service_credit_rules_units_check.
service_credit_rules = Table(
    "service_credit_rules",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("service_id", UUID(as_uuid=True), primary_key=True),
    Column("credit_type_id", UUID(as_uuid=True), primary_key=True),
    Column("units", BigInteger, nullable=False),
    ForeignKeyConstraint(
        ["tenant_id", "credit_type_id"],
        ["credit_types.tenant_id", "credit_types.id"],
        name="service_credit_rules_tenant_id_credit_type_id_fkey",
    ),
)

# CHECKs (migrations/ only): credit_lots_amount_check, credit_lots_valid_span, credit_lots_note_check.
credit_lots = Table(
    "credit_lots",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), nullable=False),
    Column("credit_type_id", UUID(as_uuid=True), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True)),
    Column("note", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("package_sale_id", UUID(as_uuid=True)),
    Column("subscription_id", UUID(as_uuid=True)),
    ForeignKeyConstraint(
        ["tenant_id", "credit_type_id"],
        ["credit_types.tenant_id", "credit_types.id"],
        name="credit_lots_tenant_id_credit_type_id_fkey",
    ),
    ForeignKeyConstraint(
        ["tenant_id", "package_sale_id"],
        ["package_sales.tenant_id", "package_sales.id"],
        name="credit_lots_package_sale",
    ),
    Index("credit_lots_by_expiry", "expires_at", postgresql_where="(expires_at IS NOT NULL)"),
    Index("credit_lots_by_holder", "tenant_id", "client_id", "credit_type_id", "expires_at"),
    Index("credit_lots_by_sale", "tenant_id", "package_sale_id", postgresql_where="(package_sale_id IS NOT NULL)"),
    ForeignKeyConstraint(
        ["tenant_id", "subscription_id"],
        ["subscriptions.tenant_id", "subscriptions.id"],
        name="credit_lots_subscription",
    ),
    Index(
        "credit_lots_by_subscription",
        "tenant_id",
        "subscription_id",
        postgresql_where="(subscription_id IS NOT NULL)",
    ),
)

# CHECKs (migrations/ only): ledger_entries_direction, ledger_entries_account_check, ledger_entries_amount_check.
ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("transaction_id", UUID(as_uuid=True), primary_key=True),
    Column("lot_id", UUID(as_uuid=True), primary_key=True),
    Column("account", Text, primary_key=True),
    Column("amount", BigInteger, nullable=False),
    Column("effective_at", DateTime(timezone=True), nullable=False),
    Column("kind", Text, nullable=False),
    ForeignKeyConstraint(
        ["tenant_id", "lot_id"],
        ["credit_lots.tenant_id", "credit_lots.id"],
        name="ledger_entries_tenant_id_lot_id_fkey",
    ),
    ForeignKeyConstraint(
        ["tenant_id", "transaction_id"],
        ["ledger_transactions.tenant_id", "ledger_transactions.id"],
        name="ledger_entries_tenant_id_transaction_id_fkey",
    ),
    Index(
        "ledger_entries_by_lot",
        "tenant_id",
        "lot_id",
        "effective_at",
        postgresql_include=["amount"],
        postgresql_where="(account = 'client'::text)",
    ),
    Index(
        "ledger_entries_expired_once",
        "tenant_id",
        "lot_id",
        postgresql_where="(account = 'expired'::text)",
        unique=True,
    ),
)


# CHECKs (migrations/ only): memberships_currency_check, memberships_duration, memberships_duration_unit_check,
# memberships_expiring_notice_days_check, memberships_invoicing_check, memberships_extras_check,
# memberships_benefits_check, memberships_name_check, memberships_gives_something,
# memberships_payment_terms_days_check, memberships_price_minor_check, memberships_tax_rate_bp_check,
# memberships_tolerance_days_check.
memberships = Table(
    "memberships",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("name", Text, nullable=False),
    Column("package_id", UUID(as_uuid=True)),
    Column("benefits", Text, nullable=False),
    Column("duration_count", Integer, nullable=False),
    Column("duration_unit", Text, nullable=False),
    Column("price_minor", BigInteger, nullable=False),
    Column("currency", Text, nullable=False),
    Column("tax_rate_bp", Integer, nullable=False),
    Column("invoicing", Text, nullable=False),
    Column("payment_terms_days", Integer, nullable=False),
    Column("tolerance_days", Integer, nullable=False),
    Column("auto_renew", Boolean, nullable=False),
    Column("expiring_notice_days", Integer, nullable=False),
    Column("extras", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    ForeignKeyConstraint(
        ["tenant_id", "package_id"], ["packages.tenant_id", "packages.id"], name="memberships_tenant_id_package_id_fkey"
    ),
)

# CHECKs (migrations/ only): subscriptions_freeze, subscriptions_currency_check, subscriptions_span,
# subscriptions_expiring_notice_days_check, subscriptions_cancel_reason_check, subscriptions_freeze_reason_check,
# subscriptions_request_id_check, subscriptions_price_minor_check, subscriptions_status_check,
# subscriptions_tolerance_days_check.
subscriptions = Table(
    "subscriptions",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), nullable=False),
    Column("membership_id", UUID(as_uuid=True), nullable=False),
    Column("membership_name", Text, nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("expires_on", Date, nullable=False),
    Column("tolerance_days", Integer, nullable=False),
    Column("status", Text, nullable=False),
    Column("currency", Text, nullable=False),
    Column("price_minor", BigInteger, nullable=False),
    Column("auto_renew", Boolean, nullable=False),
    Column("expiring_notice_days", Integer, nullable=False),
    Column("invoice_id", UUID(as_uuid=True)),
    Column("frozen_from", Date),
    Column("frozen_until", Date),
    Column("resumes_at", DateTime(timezone=True)),
    Column("freeze_reason", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("notice_sent_for", Date),
    Column("cancel_reason", Text, nullable=False, server_default=DEFAULT_EMPTY),
    Column("next_review_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("request_id", Text),
    Column("version", Integer, nullable=False, server_default=DEFAULT_ZERO),
    ForeignKeyConstraint(
        ["tenant_id", "invoice_id"],
        ["invoices.tenant_id", "invoices.id"],
        name="subscriptions_tenant_id_invoice_id_fkey",
    ),
    ForeignKeyConstraint(
        ["tenant_id", "membership_id"],
        ["memberships.tenant_id", "memberships.id"],
        name="subscriptions_tenant_id_membership_id_fkey",
    ),
    Index("subscriptions_due", "next_review_at", postgresql_where="(next_review_at IS NOT NULL)"),
    Index("subscriptions_by_expiry", "tenant_id", "expires_on"),
    Index(
        "subscriptions_request_id", "tenant_id", "request_id", postgresql_where="(request_id IS NOT NULL)", unique=True
    ),
)

# CHECKs (migrations/ only): subscription_periods_check, subscription_periods_kind_check,
# subscription_periods_request_id_check.
subscription_periods = Table(
    "subscription_periods",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("subscription_id", UUID(as_uuid=True), primary_key=True),
    Column("starts_on", Date, primary_key=True),
    Column("expires_on", Date, nullable=False),
    Column("invoice_id", UUID(as_uuid=True)),
    Column("kind", Text, nullable=False),
    Column("request_id", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    ForeignKeyConstraint(
        ["tenant_id", "invoice_id"],
        ["invoices.tenant_id", "invoices.id"],
        name="subscription_periods_tenant_id_invoice_id_fkey",
    ),
    ForeignKeyConstraint(
        ["tenant_id", "subscription_id"],
        ["subscriptions.tenant_id", "subscriptions.id"],
        name="subscription_periods_tenant_id_subscription_id_fkey",
    ),
    Index(
        "subscription_periods_request_id",
        "tenant_id",
        "request_id",
        postgresql_where="((request_id IS NOT NULL) AND (kind = 'renew'::text))",
        unique=True,
    ),
    Index("subscription_periods_by_start", "tenant_id", "starts_on"),
)

# Every freeze of a subscription, by its first day (a trigger writes them; migrations/ only).
subscription_freezes = Table(
    "subscription_freezes",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("frozen_from", Date, primary_key=True),
    Column("subscription_id", UUID(as_uuid=True), primary_key=True),
    ForeignKeyConstraint(
        ["tenant_id", "subscription_id"],
        ["subscriptions.tenant_id", "subscriptions.id"],
        name="subscription_freezes_tenant_id_subscription_id_fkey",
    ),
)

# The business's membership settings; no row: the defaults.
membership_settings = Table(
    "membership_settings",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("clients_may_cancel", Boolean, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# CHECKs (migrations/ only): payment_due_notices_stage_check.
payment_due_notices = Table(
    "payment_due_notices",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("invoice_id", UUID(as_uuid=True), primary_key=True),
    Column("stage", Text, primary_key=True),
    Column("sent_at", DateTime(timezone=True), nullable=False),
    ForeignKeyConstraint(
        ["tenant_id", "invoice_id"],
        ["invoices.tenant_id", "invoices.id"],
        name="payment_due_notices_tenant_id_invoice_id_fkey",
    ),
)

# CHECKs (migrations/ only): loyalty_programs_check1, loyalty_programs_check, loyalty_programs_currency_check,
# loyalty_programs_points_per_reward_unit_check, loyalty_programs_points_per_step_check,
# loyalty_programs_points_per_visit_check, loyalty_programs_check2, loyalty_programs_step_minor_check,
# loyalty_programs_validity_days_check.
loyalty_programs = Table(
    "loyalty_programs",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("points_credit_type_id", UUID(as_uuid=True), nullable=False),
    Column("currency", Text, nullable=False),
    Column("step_minor", BigInteger, nullable=False),
    Column("points_per_step", Integer, nullable=False),
    Column("points_per_visit", Integer, nullable=False),
    Column("validity_days", Integer),
    Column("reward_credit_type_id", UUID(as_uuid=True)),
    Column("points_per_reward_unit", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    ForeignKeyConstraint(
        ["tenant_id", "points_credit_type_id"],
        ["credit_types.tenant_id", "credit_types.id"],
        name="loyalty_programs_tenant_id_points_credit_type_id_fkey",
    ),
    ForeignKeyConstraint(
        ["tenant_id", "reward_credit_type_id"],
        ["credit_types.tenant_id", "credit_types.id"],
        name="loyalty_programs_tenant_id_reward_credit_type_id_fkey",
    ),
)

# The cancellation and no-show policy (CHECKs on windows and outcomes: migrations/ only).
cancellation_policies = Table(
    "cancellation_policies",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("service_id", UUID(as_uuid=True)),
    Column("no_show_kind", Text, nullable=False),
    Column("no_show_percent", Integer),
    Column("no_show_fee_minor", BigInteger),
    Column("no_show_currency", Text),
    Column("repeat_no_shows", Integer),
    Column("repeat_period_days", Integer),
    Column("repeat_block_days", Integer),
    Column("repeat_outcome", Text, nullable=False, server_default=text("'block_online_booking'")),
    Column("applies_to_staff_cancellations", Boolean, nullable=False, server_default=text("false")),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("cancellation_policies_business", "tenant_id", unique=True, postgresql_where=text("service_id IS NULL")),
    Index(
        "cancellation_policies_service",
        "tenant_id",
        "service_id",
        unique=True,
        postgresql_where=text("service_id IS NOT NULL"),
    ),
)

cancellation_windows = Table(
    "cancellation_windows",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("policy_id", UUID(as_uuid=True), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("within_hours", Integer),
    Column("within_days", Integer),
    Column("kind", Text, nullable=False),
    Column("percent", Integer),
    Column("fee_minor", BigInteger),
    Column("currency", Text),
    ForeignKeyConstraint(
        ["tenant_id", "policy_id"],
        ["cancellation_policies.tenant_id", "cancellation_policies.id"],
        ondelete="CASCADE",
    ),
    Index(
        "cancellation_windows_hours",
        "tenant_id",
        "policy_id",
        "within_hours",
        unique=True,
        postgresql_where=text("within_hours IS NOT NULL"),
    ),
    Index(
        "cancellation_windows_days",
        "tenant_id",
        "policy_id",
        "within_days",
        unique=True,
        postgresql_where=text("within_days IS NOT NULL"),
    ),
)

policy_applications = Table(
    "policy_applications",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("appointment_id", UUID(as_uuid=True), nullable=False),
    Column("client_id", UUID(as_uuid=True), nullable=False),
    Column("reason", Text, nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("tenant_id", "appointment_id", name="policy_applications_appointment"),
    Index(
        "policy_applications_no_shows",
        "tenant_id",
        "client_id",
        "starts_at",
        postgresql_where=text("reason = 'no_show'"),
    ),
)


# Newest-first listings, and names unique whatever their case and surrounding spaces.
Index("check_ins_by_client", check_ins.c.tenant_id, check_ins.c.client_id, check_ins.c.id.desc())
Index("credit_types_name", credit_types.c.tenant_id, func.lower(func.btrim(credit_types.c.name)), unique=True)
Index("invoices_by_client", invoices.c.tenant_id, invoices.c.client_id, invoices.c.id.desc())
Index("invoices_by_tenant", invoices.c.tenant_id, invoices.c.id.desc())
Index("package_sales_by_client", package_sales.c.tenant_id, package_sales.c.client_id, package_sales.c.id.desc())
Index("subscriptions_by_client", subscriptions.c.tenant_id, subscriptions.c.client_id, subscriptions.c.starts_on.desc())
Index("memberships_name", memberships.c.tenant_id, func.lower(func.btrim(memberships.c.name)), unique=True)
Index("packages_name", packages.c.tenant_id, func.lower(func.btrim(packages.c.name)), unique=True)
Index("payments_by_client", payments.c.tenant_id, payments.c.client_id, payments.c.id.desc())
Index("payments_by_tenant", payments.c.tenant_id, payments.c.id.desc())

# Invoices, payments, lots and check-ins a client merge re-pointed.
client_merge_moves = merge_moves_table(metadata)

outbox, inbox, parked_messages = define_tables(metadata)
