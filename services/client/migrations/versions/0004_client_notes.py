"""Client notes with their edit history.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE client_notes (
            tenant_id uuid NOT NULL,
            id uuid NOT NULL,
            client_id uuid NOT NULL,
            author_id text NOT NULL,
            created_at timestamptz NOT NULL,
            PRIMARY KEY (tenant_id, id),
            FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, id)
        )
        """
    )
    op.execute("CREATE INDEX client_notes_by_client ON client_notes (tenant_id, client_id, id DESC)")
    # Every version of every note; the highest revision is the current text.
    op.execute(
        """
        CREATE TABLE client_note_revisions (
            tenant_id uuid NOT NULL,
            note_id uuid NOT NULL,
            revision integer NOT NULL CHECK (revision >= 1),
            body text NOT NULL CHECK (length(btrim(body)) BETWEEN 1 AND 10000),
            edited_by text NOT NULL,
            edited_at timestamptz NOT NULL,
            PRIMARY KEY (tenant_id, note_id, revision),
            FOREIGN KEY (tenant_id, note_id) REFERENCES client_notes (tenant_id, id)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE client_note_revisions")
    op.execute("DROP TABLE client_notes")
