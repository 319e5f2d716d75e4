"""Tentative holds: a pending appointment request may hold the slot it asks for first. A hold takes its staff
member's time as a time_blocks row (whole: seats_taken = capacity), so the exclusion constraint that refuses
double bookings refuses a booking over a hold too, and availability (which reads time_blocks) no longer
offers it. Releasing a hold deletes its row and releases its block.

Revision ID: 0007
Revises: 0005
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

STATEMENTS = [
    r"""
    CREATE TABLE slot_holds (
        tenant_id uuid NOT NULL,
        id uuid NOT NULL,
        client_id uuid NOT NULL,
        service_id uuid NOT NULL,
        staff_id uuid NOT NULL,
        starts_at timestamptz NOT NULL,
        ends_at timestamptz NOT NULL,
        label text NOT NULL DEFAULT '' CHECK (length(label) <= 100),
        time_block_id uuid NOT NULL,
        created_at timestamptz NOT NULL,
        PRIMARY KEY (tenant_id, id),
        CHECK (ends_at > starts_at),
        CONSTRAINT slot_holds_one_per_block UNIQUE (tenant_id, time_block_id),
        FOREIGN KEY (tenant_id, time_block_id) REFERENCES time_blocks (tenant_id, id)
    )
    """,
    "CREATE INDEX slot_holds_by_staff ON slot_holds (tenant_id, staff_id, starts_at)",
    # A hold follows its client through a merge (and back on an undo), like appointments and series.
    "ALTER TABLE client_merge_moves DROP CONSTRAINT client_merge_moves_record_kind_check",
    "ALTER TABLE client_merge_moves ADD CONSTRAINT client_merge_moves_record_kind_check"
    " CHECK (record_kind IN ('appointment', 'series', 'slot_hold'))",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DELETE FROM client_merge_moves WHERE record_kind = 'slot_hold'")
    op.execute("ALTER TABLE client_merge_moves DROP CONSTRAINT client_merge_moves_record_kind_check")
    op.execute(
        "ALTER TABLE client_merge_moves ADD CONSTRAINT client_merge_moves_record_kind_check"
        " CHECK (record_kind IN ('appointment', 'series'))"
    )
    op.execute(
        "UPDATE time_blocks SET released = true, seats_taken = 0"
        " WHERE (tenant_id, id) IN (SELECT tenant_id, time_block_id FROM slot_holds)"
    )
    op.execute("DROP TABLE slot_holds")
