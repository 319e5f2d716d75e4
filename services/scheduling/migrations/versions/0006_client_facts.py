"""What booking needs to know of each client (blocked, deleted, zone, merged into), kept by scheduling from
the client service's events so that a booking makes no call to the client service.

Each fact carries the time of the event that set it: an event older than what a row already says changes
nothing, and a fact read from the client service directly is stamped -infinity, so any event overrides it.
A NULL fact is unknown (the row was started by an event about another fact): the booking then asks the
client service once.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE client_facts (
            tenant_id uuid NOT NULL,
            client_id uuid NOT NULL,
            online_booking_blocked boolean,
            blocked_at timestamptz,
            deleted boolean,
            deleted_at timestamptz,
            erased boolean NOT NULL DEFAULT false,
            erased_at timestamptz,
            timezone text,
            timezone_at timestamptz,
            merged_into uuid,
            merged_at timestamptz,
            PRIMARY KEY (tenant_id, client_id),
            CHECK ((online_booking_blocked IS NULL) = (blocked_at IS NULL)),
            CHECK ((deleted IS NULL) = (deleted_at IS NULL)),
            CHECK ((timezone IS NULL) = (timezone_at IS NULL)),
            CHECK (erased = (erased_at IS NOT NULL)),
            CHECK (merged_into IS NULL OR merged_at IS NOT NULL),
            CHECK (merged_into IS DISTINCT FROM client_id)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE client_facts")
