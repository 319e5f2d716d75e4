"""A version per tenant of what creating a client reads (statuses, custom field definitions), bumped by every
change to them whatever writes it: replicas keep those inputs cached and check the version when they commit.

Revision ID: 0038
Revises: 0037
"""

from alembic import op

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None

TABLES = ("client_statuses", "client_custom_fields")


def upgrade() -> None:
    op.execute("CREATE TABLE client_catalogue_versions (tenant_id uuid PRIMARY KEY, version bigint NOT NULL DEFAULT 1)")
    op.execute(
        """
        CREATE FUNCTION bump_client_catalogue_version() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO client_catalogue_versions AS v (tenant_id)
            SELECT DISTINCT tenant_id FROM changed ORDER BY tenant_id
            ON CONFLICT (tenant_id) DO UPDATE SET version = v.version + 1;
            RETURN NULL;
        END $$
        """
    )
    for table in TABLES:
        for operation, transition in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
            op.execute(
                f"CREATE TRIGGER {table}_{operation.lower()}_bumps_version AFTER {operation} ON {table} "
                f"REFERENCING {transition} TABLE AS changed "
                "FOR EACH STATEMENT EXECUTE FUNCTION bump_client_catalogue_version()"
            )


def downgrade() -> None:
    for table in TABLES:
        for operation in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER {table}_{operation}_bumps_version ON {table}")
    op.execute("DROP FUNCTION bump_client_catalogue_version()")
    op.execute("DROP TABLE client_catalogue_versions")
