"""Calendar feeds: secret iCalendar URLs for a staff member or a client.

Only a SHA-256 of each feed's 32-byte random secret is kept; the secret itself is shown once when the
feed is issued. An owner has at most one live feed (a partial unique index): issuing a new one revokes
the old one in the same transaction, so rotating never leaves two live URLs behind.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

STATEMENTS = [
    r"""
    CREATE TABLE calendar_feeds (
        tenant_id uuid NOT NULL,
        id uuid NOT NULL,
        owner_kind text NOT NULL CHECK (owner_kind IN ('staff', 'client')),
        owner_id uuid NOT NULL,
        token_hash bytea NOT NULL CHECK (octet_length(token_hash) = 32),
        include_cancelled boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL,
        created_by text NOT NULL,
        revoked_at timestamptz,
        revoked_by text,
        PRIMARY KEY (tenant_id, id),
        CHECK ((revoked_at IS NULL) = (revoked_by IS NULL)),
        CHECK (revoked_at IS NULL OR revoked_at >= created_at)
    )
    """,
    "CREATE UNIQUE INDEX calendar_feeds_one_live_per_owner ON calendar_feeds (tenant_id, owner_kind, owner_id)"
    " WHERE revoked_at IS NULL",
    "CREATE INDEX calendar_feeds_by_owner ON calendar_feeds (tenant_id, owner_kind, owner_id, created_at DESC)",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE calendar_feeds")
