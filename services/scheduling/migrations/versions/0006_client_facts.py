"""What booking needs to know of each client (blocked, deleted, zone, merged into), kept by scheduling from
the client service's events so that a booking makes no call to the client service.

Each fact carries the time of the event that set it: an event older than what a row already says changes
nothing, and a fact read from the client service directly is stamped -infinity, so any event overrides it.
A NULL fact is unknown (the row was started by an event about another fact): the booking then asks the
client service once.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# What availability reads that is not a booking.
CATALOGUE_TABLES = (
    "scheduling_settings",
    "services",
    "service_staff",
    "service_resources",
    "staff_members",
    "schedule_exceptions",
    "resources",
)


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE client_facts (
            tenant_id uuid NOT NULL,
            client_id uuid NOT NULL,
            online_booking_blocked boolean,
            blocked_at timestamptz,
            deleted boolean,
            deleted_at timestamptz,
            erased boolean NOT NULL DEFAULT false,
            erased_at timestamptz,
            timezone text,
            timezone_at timestamptz,
            merged_into uuid,
            merged_at timestamptz,
            PRIMARY KEY (tenant_id, client_id),
            CHECK ((online_booking_blocked IS NULL) = (blocked_at IS NULL)),
            CHECK ((deleted IS NULL) = (deleted_at IS NULL)),
            CHECK ((timezone IS NULL) = (timezone_at IS NULL)),
            CHECK (erased = (erased_at IS NOT NULL)),
            CHECK (merged_into IS NULL OR merged_at IS NOT NULL),
            CHECK (merged_into IS DISTINCT FROM client_id)
        )
        """
    )

    op.execute("CREATE TABLE catalogue_versions (tenant_id uuid PRIMARY KEY, version bigint NOT NULL)")
    # A trigger, not the code: whatever writes the catalogue, its business's version moves in the same transaction.
    op.execute(
        """
        CREATE FUNCTION bump_catalogue_version() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            tenant uuid := CASE WHEN TG_OP = 'DELETE' THEN OLD.tenant_id ELSE NEW.tenant_id END;
        BEGIN
            INSERT INTO catalogue_versions AS v (tenant_id, version) VALUES (tenant, 1)
            ON CONFLICT (tenant_id) DO UPDATE SET version = v.version + 1;
            RETURN NULL;
        END $$
        """
    )
    for table in CATALOGUE_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_bump_catalogue_version AFTER INSERT OR UPDATE OR DELETE ON {table}"
            " FOR EACH ROW EXECUTE FUNCTION bump_catalogue_version()"
        )


def downgrade() -> None:
    for table in CATALOGUE_TABLES:
        op.execute(f"DROP TRIGGER {table}_bump_catalogue_version ON {table}")
    op.execute("DROP FUNCTION bump_catalogue_version()")
    op.execute("DROP TABLE catalogue_versions")
    op.execute("DROP TABLE client_facts")
