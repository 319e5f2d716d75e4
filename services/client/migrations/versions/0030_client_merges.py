"""Merging duplicate clients into a survivor, with the journal that lets a merge be undone.

Revision ID: 0030
Revises: 0020
"""

from alembic import op

revision = "0030"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE clients
            ADD COLUMN merged_into uuid,
            ADD COLUMN merged_at timestamptz,
            ADD CONSTRAINT clients_merged_into FOREIGN KEY (tenant_id, merged_into) REFERENCES clients (tenant_id, id),
            ADD CONSTRAINT clients_merged_whole CHECK ((merged_into IS NULL) = (merged_at IS NULL)),
            ADD CONSTRAINT clients_merged_elsewhere CHECK (merged_into <> id)
        """
    )
    # What was merged into a client (erasing a survivor erases what it absorbed).
    op.execute("CREATE INDEX clients_merged_into ON clients (tenant_id, merged_into) WHERE merged_into IS NOT NULL")
    op.execute(
        """
        CREATE TABLE client_merges (
            tenant_id uuid NOT NULL,
            id uuid NOT NULL,
            survivor_id uuid NOT NULL,
            merged_ids uuid[] NOT NULL CHECK (cardinality(merged_ids) BETWEEN 1 AND 10),
            merged_at timestamptz NOT NULL,
            undo_until timestamptz NOT NULL CHECK (undo_until > merged_at),
            merged_by text NOT NULL,
            -- The survivor's merge fields before and after, and which client each taken value came from.
            survivor_before jsonb NOT NULL,
            survivor_after jsonb NOT NULL,
            fields_taken jsonb NOT NULL,
            unmerged_at timestamptz CHECK (unmerged_at >= merged_at),
            -- A participant's data was erased: the values and moves above are gone.
            purged_at timestamptz,
            PRIMARY KEY (tenant_id, id),
            FOREIGN KEY (tenant_id, survivor_id) REFERENCES clients (tenant_id, id),
            CHECK (NOT (survivor_id = ANY (merged_ids)))
        )
        """
    )
    op.execute("CREATE INDEX client_merges_by_survivor ON client_merges (tenant_id, survivor_id, merged_at DESC)")
    op.execute("CREATE INDEX client_merges_by_merged ON client_merges USING gin (merged_ids)")
    # Each per-client record a merge moved, and the client it came from.
    op.execute(
        """
        CREATE TABLE client_merge_moves (
            tenant_id uuid NOT NULL,
            merge_id uuid NOT NULL,
            table_name text NOT NULL,
            row_key text NOT NULL,
            from_client_id uuid NOT NULL,
            PRIMARY KEY (tenant_id, merge_id, table_name, row_key),
            FOREIGN KEY (tenant_id, merge_id) REFERENCES client_merges (tenant_id, id)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE client_merge_moves")
    op.execute("DROP TABLE client_merges")
    op.execute("DROP INDEX clients_merged_into")
    op.execute(
        """
        ALTER TABLE clients
            DROP CONSTRAINT clients_merged_elsewhere,
            DROP CONSTRAINT clients_merged_whole,
            DROP CONSTRAINT clients_merged_into,
            DROP COLUMN merged_at,
            DROP COLUMN merged_into
        """
    )
