"""The billing tables as SQLAlchemy Core objects (the DDL is the Alembic migration's)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Date, DateTime, Integer, MetaData, Numeric, Table, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID

metadata = MetaData()

invoice_counters = Table(
    "invoice_counters",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("last_number", BigInteger, nullable=False),
)

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
    Column("paid_minor", BigInteger, nullable=False),
    Column("payment_terms_days", Integer, nullable=False),
    Column("issue_date", Date),
    Column("due_date", Date),
    Column("bill_to_name", Text, nullable=False),
    Column("notes", Text, nullable=False),
    Column("void_reason", Text, nullable=False),
    Column("source_event_id", UUID(as_uuid=True)),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

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
)

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
    Column("reference", Text, nullable=False),
    Column("notes", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("refund_reason", Text, nullable=False),
    Column("refunded_at", DateTime(timezone=True)),
    Column("request_id", Text),
    Column("source_event_id", UUID(as_uuid=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

payment_allocations = Table(
    "payment_allocations",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("payment_id", UUID(as_uuid=True), primary_key=True),
    Column("invoice_id", UUID(as_uuid=True), primary_key=True),
    Column("amount_minor", BigInteger, nullable=False),
)

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
    Column("note", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("package_sale_id", UUID(as_uuid=True)),
    Column("subscription_id", UUID(as_uuid=True)),
)

ledger_transactions = Table(
    "ledger_transactions",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("kind", Text, nullable=False),
    Column("effective_at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("note", Text, nullable=False),
    Column("request_id", Text),
    Column("reverses_id", UUID(as_uuid=True)),
)

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
)

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

package_allocations = Table(
    "package_allocations",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("package_id", UUID(as_uuid=True), primary_key=True),
    Column("credit_type_id", UUID(as_uuid=True), primary_key=True),
    Column("amount", BigInteger, nullable=False),
)

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
)

service_credit_rules = Table(
    "service_credit_rules",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("service_id", UUID(as_uuid=True), primary_key=True),
    Column("credit_type_id", UUID(as_uuid=True), primary_key=True),
    Column("units", BigInteger, nullable=False),
)

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
    Column("note", Text, nullable=False),
)

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
)

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
    Column("freeze_reason", Text, nullable=False),
    Column("notice_sent_for", Date),
    Column("cancel_reason", Text, nullable=False),
    Column("next_review_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("request_id", Text),
    Column("version", Integer, nullable=False),
)

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
)

payment_due_notices = Table(
    "payment_due_notices",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("invoice_id", UUID(as_uuid=True), primary_key=True),
    Column("stage", Text, primary_key=True),
    Column("sent_at", DateTime(timezone=True), nullable=False),
)

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
)
