"""Indexes for searching clients by phone, email prefix and name prefix.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_INDEXES = {
    "clients_phone": "clients (tenant_id, phone) WHERE phone IS NOT NULL",
    "clients_email_prefix": "clients (tenant_id, lower(email) text_pattern_ops) WHERE email IS NOT NULL",
    "clients_first_name_prefix": "clients (tenant_id, lower(first_name) text_pattern_ops)",
    "clients_last_name_prefix": "clients (tenant_id, lower(last_name) text_pattern_ops)",
}


def upgrade() -> None:
    for name, definition in _INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON {definition}")


def downgrade() -> None:
    for name in _INDEXES:
        op.execute(f"DROP INDEX {name}")
