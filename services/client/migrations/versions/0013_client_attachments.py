"""Attachments: what each file is (name, sniffed type, size, SHA-256, where its bytes are), shared flag,
who uploaded it and when; soft delete. The bytes themselves live in blob storage.

Revision ID: 0013
Revises: 0012
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        r"""
        CREATE TABLE client_attachments (
            tenant_id uuid NOT NULL,
            id uuid NOT NULL,
            client_id uuid NOT NULL,
            filename text NOT NULL CHECK (length(btrim(filename)) BETWEEN 1 AND 255),
            content_type text NOT NULL CHECK (content_type ~ '^[a-z0-9.+-]+/[a-z0-9.+-]+$'),
            size_bytes bigint NOT NULL CHECK (size_bytes > 0),
            sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
            storage_key text NOT NULL UNIQUE,
            shared_with_client boolean NOT NULL,
            uploaded_by text NOT NULL,
            uploaded_at timestamptz NOT NULL,
            deleted_at timestamptz,
            PRIMARY KEY (tenant_id, id),
            FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, id) ON DELETE CASCADE
        )
        """
    )
    op.execute(
        "CREATE INDEX client_attachments_of_client ON client_attachments (tenant_id, client_id, uploaded_at DESC) "
        "WHERE deleted_at IS NULL"
    )


def downgrade() -> None:
    op.execute("DROP TABLE client_attachments")
