"""The timeline follows client merges (and their undoing) and forgets erased clients' personal details.

Revision ID: 0030
Revises: 0002
"""

from alembic import op

revision = "0030"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE activity_entries ADD COLUMN anonymized_at timestamptz")
    # One row per merged client of each merge the client service announced (ClientsMerged).
    op.execute(
        """
        CREATE TABLE timeline_merges (
            tenant_id uuid NOT NULL,
            merge_id uuid NOT NULL,
            merged_client_id uuid NOT NULL,
            survivor_id uuid NOT NULL CHECK (survivor_id <> merged_client_id),
            merged_at timestamptz NOT NULL,
            unmerged_at timestamptz CHECK (unmerged_at >= merged_at),
            PRIMARY KEY (tenant_id, merge_id, merged_client_id)
        )
        """
    )
    # A client is merged into one survivor at a time; entries arriving for it go to that survivor.
    op.execute(
        "CREATE UNIQUE INDEX timeline_merges_open ON timeline_merges (tenant_id, merged_client_id) "
        "WHERE unmerged_at IS NULL"
    )
    # Each entry a merge moved, with the client it belonged to (ClientsUnmerged moves it back).
    op.execute(
        """
        CREATE TABLE activity_merge_moves (
            tenant_id uuid NOT NULL,
            merge_id uuid NOT NULL,
            entry_id uuid NOT NULL,
            original_client_id uuid NOT NULL,
            PRIMARY KEY (tenant_id, merge_id, entry_id),
            FOREIGN KEY (tenant_id, entry_id) REFERENCES activity_entries (tenant_id, id)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE erased_clients (
            tenant_id uuid NOT NULL,
            client_id uuid NOT NULL,
            erased_at timestamptz NOT NULL,
            PRIMARY KEY (tenant_id, client_id)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE erased_clients")
    op.execute("DROP TABLE activity_merge_moves")
    op.execute("DROP TABLE timeline_merges")
    op.execute("ALTER TABLE activity_entries DROP COLUMN anonymized_at")
