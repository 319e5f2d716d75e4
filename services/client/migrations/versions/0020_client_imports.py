"""Client import and export: an external id per client, import jobs, their uploaded files and rejected rows.

The uploaded file lives in PostgreSQL (import_file_chunks), not on a replica's disk: whichever replica
claims the job can read it, it is deleted with the job, and nothing of it ever sits in memory whole.

Revision ID: 0020
Revises: 0014
"""

from alembic import op

revision = "0020"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE clients ADD COLUMN external_id text "
        "CHECK (length(external_id) BETWEEN 1 AND 200 AND external_id = btrim(external_id))"
    )
    # The id a client has in the system it was imported from: re-importing the same file updates, never
    # duplicates. Deleted clients keep theirs (a restore must not collide).
    op.execute(
        "CREATE UNIQUE INDEX clients_external_id ON clients (tenant_id, external_id) WHERE external_id IS NOT NULL"
    )
    # Import matching by email compares lower(email) for equality: migration 0005's prefix index
    # (text_pattern_ops) serves that too, so no index is added for it.
    op.execute(
        """
        CREATE TABLE import_jobs (
            tenant_id uuid NOT NULL,
            id uuid NOT NULL,
            created_by text NOT NULL,
            filename text NOT NULL CHECK (length(filename) BETWEEN 1 AND 255),
            format text NOT NULL CHECK (format IN ('csv', 'xlsx')),
            status text NOT NULL CHECK (
                status IN ('uploading', 'uploaded', 'validating', 'validated', 'running', 'completed', 'failed')
            ),
            file_bytes bigint NOT NULL DEFAULT 0 CHECK (file_bytes >= 0),
            file_chunks integer NOT NULL DEFAULT 0 CHECK (file_chunks >= 0),
            -- The header row as read from the file, and what each column is mapped to ('' = ignored).
            columns text[] NOT NULL DEFAULT '{}',
            mapping text[],
            duplicates text NOT NULL DEFAULT 'skip' CHECK (duplicates IN ('skip', 'update', 'create')),
            all_or_nothing boolean NOT NULL DEFAULT false,
            default_region text NOT NULL DEFAULT '',
            max_clients integer NOT NULL DEFAULT 0 CHECK (max_clients >= 0),
            -- Whether the rows counted below come from a dry run (nothing written) or the import itself.
            dry_run boolean NOT NULL DEFAULT true,
            total_rows integer CHECK (total_rows >= 0),
            processed_rows integer NOT NULL DEFAULT 0 CHECK (processed_rows >= 0),
            created_rows integer NOT NULL DEFAULT 0 CHECK (created_rows >= 0),
            updated_rows integer NOT NULL DEFAULT 0 CHECK (updated_rows >= 0),
            unchanged_rows integer NOT NULL DEFAULT 0 CHECK (unchanged_rows >= 0),
            skipped_rows integer NOT NULL DEFAULT 0 CHECK (skipped_rows >= 0),
            rejected_rows integer NOT NULL DEFAULT 0 CHECK (rejected_rows >= 0),
            error text,
            error_code text,
            -- Which replica works on the job, until when: claimed with FOR UPDATE SKIP LOCKED, renewed while
            -- it runs, taken over by another replica only once it has expired.
            lease_owner text,
            lease_expires_at timestamptz,
            -- Claims since the job was last queued: a job that keeps failing is given up, not retried forever.
            attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            finished_at timestamptz,
            PRIMARY KEY (tenant_id, id),
            CHECK (mapping IS NULL OR cardinality(mapping) = cardinality(columns)),
            CHECK (processed_rows = created_rows + updated_rows + unchanged_rows + skipped_rows + rejected_rows)
        )
        """
    )
    # What the workers look for: jobs to run, and leases to take over.
    op.execute(
        "CREATE INDEX import_jobs_to_run ON import_jobs (lease_expires_at NULLS FIRST) "
        "WHERE status IN ('validating', 'running')"
    )
    op.execute("CREATE INDEX import_jobs_by_tenant ON import_jobs (tenant_id, id DESC)")
    op.execute(
        """
        CREATE TABLE import_file_chunks (
            tenant_id uuid NOT NULL,
            job_id uuid NOT NULL,
            seq integer NOT NULL CHECK (seq >= 0),
            data bytea NOT NULL CHECK (length(data) BETWEEN 1 AND 4194304),
            PRIMARY KEY (tenant_id, job_id, seq),
            FOREIGN KEY (tenant_id, job_id) REFERENCES import_jobs (tenant_id, id) ON DELETE CASCADE
        )
        """
    )
    # Rejected rows: the cells as they were in the file (so they can be fixed and uploaded again) and what is
    # wrong with them, column by column.
    op.execute(
        """
        CREATE TABLE import_problems (
            tenant_id uuid NOT NULL,
            job_id uuid NOT NULL,
            row_number integer NOT NULL CHECK (row_number >= 1),
            cells text[] NOT NULL,
            problems jsonb NOT NULL CHECK (jsonb_typeof(problems) = 'array' AND jsonb_array_length(problems) > 0),
            PRIMARY KEY (tenant_id, job_id, row_number),
            FOREIGN KEY (tenant_id, job_id) REFERENCES import_jobs (tenant_id, id) ON DELETE CASCADE
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE import_problems")
    op.execute("DROP TABLE import_file_chunks")
    op.execute("DROP TABLE import_jobs")
    op.execute("DROP INDEX clients_external_id")
    op.execute("ALTER TABLE clients DROP COLUMN external_id")
