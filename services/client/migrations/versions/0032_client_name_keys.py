"""Typo-tolerant name search: the deletion-neighbourhood and word-beginning keys of every client's names
(client_svc.domain.fuzzy), kept by the service and filled here for the clients already there.

Revision ID: 0032
Revises: 0031
"""

from alembic import op
from sqlalchemy import text

from client_svc.domain.fuzzy import keys_of, name_words

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None

BATCH = 2_000


def upgrade() -> None:
    # Keys compare byte-wise (COLLATE "C"): equality lookups only, and cheaper than a linguistic collation.
    op.execute(
        """
        CREATE TABLE client_name_keys (
            tenant_id uuid NOT NULL,
            key text COLLATE "C" NOT NULL CHECK (length(key) >= 3),
            client_id uuid NOT NULL,
            PRIMARY KEY (tenant_id, key, client_id)
        )
        """
    )
    connection = op.get_bind()
    rows = connection.execute(
        text("SELECT tenant_id, id, first_name, last_name, company_name FROM clients WHERE erased_at IS NULL")
    ).all()
    insert = text(
        "INSERT INTO client_name_keys (tenant_id, key, client_id) "
        "SELECT :t, unnest(CAST(:keys AS text[])), :c ON CONFLICT DO NOTHING"
    )
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        connection.execute(
            insert,
            [
                {
                    "t": r.tenant_id,
                    "c": r.id,
                    "keys": sorted(keys_of(name_words(r.first_name, r.last_name, r.company_name))),
                }
                for r in batch
            ],
        )


def downgrade() -> None:
    op.execute("DROP TABLE client_name_keys")
