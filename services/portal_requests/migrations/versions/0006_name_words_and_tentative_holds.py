"""Request search by client name from an index: each client's name words (lower case) are kept in
request_client_words by a trigger on request_clients, and a btree with text_pattern_ops answers "a word starts
with" as a range scan (core PostgreSQL, no pg_trgm).

Tentative holds: a business may let pending requests hold the first time they ask for (request_settings.
tentative_holds); the hold itself is scheduling's, and a request keeps what is held for it (staff member and
time, all or nothing, only while pending).

Revision ID: 0006
Revises: 0004
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

STATEMENTS = [
    r"""
    CREATE TABLE request_client_words (
        tenant_id uuid NOT NULL,
        client_id uuid NOT NULL,
        word text NOT NULL CHECK (word <> '' AND word = lower(word) AND length(word) <= 200),
        PRIMARY KEY (tenant_id, client_id, word),
        FOREIGN KEY (tenant_id, client_id) REFERENCES request_clients (tenant_id, client_id) ON DELETE CASCADE
    )
    """,
    "CREATE INDEX request_client_words_prefix ON request_client_words (tenant_id, word text_pattern_ops)",
    # Whatever writes a client's name (a submission, ClientUpdated, an erasure), its words follow.
    r"""
    CREATE FUNCTION request_client_words_sync() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM request_client_words WHERE tenant_id = NEW.tenant_id AND client_id = NEW.client_id;
        INSERT INTO request_client_words (tenant_id, client_id, word)
            SELECT DISTINCT NEW.tenant_id, NEW.client_id, left(w, 200)
            FROM regexp_split_to_table(lower(NEW.name), '\s+') AS w
            WHERE w <> ''
            ON CONFLICT DO NOTHING;
        RETURN NULL;
    END
    $$
    """,
    r"""
    CREATE TRIGGER request_client_words_sync AFTER INSERT OR UPDATE OF name ON request_clients
        FOR EACH ROW EXECUTE FUNCTION request_client_words_sync()
    """,
    "ALTER TABLE request_settings ADD COLUMN tentative_holds boolean NOT NULL DEFAULT false",
    r"""
    ALTER TABLE appointment_requests
        ADD COLUMN hold_staff_id uuid,
        ADD COLUMN hold_start timestamptz,
        ADD COLUMN hold_end timestamptz,
        ADD CONSTRAINT appointment_requests_hold_whole CHECK (
            (hold_staff_id IS NULL) = (hold_start IS NULL) AND (hold_start IS NULL) = (hold_end IS NULL)
            AND (hold_start IS NULL OR (hold_end > hold_start AND status = 'pending'))
        )
    """,
    r"""
    INSERT INTO request_client_words (tenant_id, client_id, word)
        SELECT DISTINCT tenant_id, client_id, left(w, 200)
        FROM request_clients, regexp_split_to_table(lower(name), '\s+') AS w
        WHERE w <> ''
        ON CONFLICT DO NOTHING
    """,
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute(
        "ALTER TABLE appointment_requests DROP CONSTRAINT appointment_requests_hold_whole,"
        " DROP COLUMN hold_staff_id, DROP COLUMN hold_start, DROP COLUMN hold_end"
    )
    op.execute("ALTER TABLE request_settings DROP COLUMN tentative_holds")
    op.execute("DROP TRIGGER request_client_words_sync ON request_clients")
    op.execute("DROP FUNCTION request_client_words_sync()")
    op.execute("DROP TABLE request_client_words")
