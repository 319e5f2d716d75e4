"""Typo-tolerant name search (client_svc.domain.fuzzy): the indexed words of every client's names, and per
tenant a dictionary of the keys of each distinct word. Kept by the service; filled here for the clients
already there.

Revision ID: 0032
Revises: 0031
"""

from alembic import op
from sqlalchemy import text

from client_svc.domain.fuzzy import name_words, word_keys

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None

BATCH = 2_000


def upgrade() -> None:
    # Words and keys compare byte-wise (COLLATE "C"): equality lookups only, cheaper than a linguistic collation.
    op.execute(
        """
        CREATE TABLE client_name_words (
            tenant_id uuid NOT NULL,
            word text COLLATE "C" NOT NULL CHECK (length(word) >= 3),
            client_id uuid NOT NULL,
            PRIMARY KEY (tenant_id, word, client_id)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE tenant_name_keys (
            tenant_id uuid NOT NULL,
            key text COLLATE "C" NOT NULL CHECK (length(key) >= 3),
            word text COLLATE "C" NOT NULL,
            PRIMARY KEY (tenant_id, key, word)
        )
        """
    )
    connection = op.get_bind()
    rows = connection.execute(
        text("SELECT tenant_id, id, first_name, last_name, company_name FROM clients WHERE erased_at IS NULL")
    ).all()
    insert_words = text(
        "INSERT INTO client_name_words (tenant_id, word, client_id) "
        "SELECT :t, unnest(CAST(:words AS text[])), :c ON CONFLICT DO NOTHING"
    )
    insert_keys = text(
        "INSERT INTO tenant_name_keys (tenant_id, key, word) "
        "SELECT :t, unnest(CAST(:keys AS text[])), :w ON CONFLICT DO NOTHING"
    )
    dictionary: set[tuple[object, str]] = set()
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        words = [(r, sorted(name_words(r.first_name, r.last_name, r.company_name))) for r in batch]
        connection.execute(insert_words, [{"t": r.tenant_id, "c": r.id, "words": w} for r, w in words if w])
        new = {(r.tenant_id, word) for r, w in words for word in w} - dictionary
        if new:
            connection.execute(insert_keys, [{"t": t, "w": word, "keys": sorted(word_keys(word))} for t, word in new])
        dictionary |= new


def downgrade() -> None:
    op.execute("DROP TABLE tenant_name_keys")
    op.execute("DROP TABLE client_name_words")
