"""Staff assigned to a group of clients: each is assigned to every client of the group (the "my clients"
filter finds them through the group as through a direct assignment).

Revision ID: 0034
Revises: 0033
"""

from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE client_group_staff (
            tenant_id uuid NOT NULL,
            group_id uuid NOT NULL,
            staff_id uuid NOT NULL,
            assigned_at timestamptz NOT NULL,
            PRIMARY KEY (tenant_id, group_id, staff_id),
            FOREIGN KEY (tenant_id, group_id) REFERENCES client_groups (tenant_id, id) ON DELETE CASCADE
        )
        """
    )
    # "My clients": from a staff member to the groups assigned to them.
    op.execute("CREATE INDEX client_group_staff_by_staff ON client_group_staff (tenant_id, staff_id)")
    # At most 20 staff per group, as per client: a trigger counts, since a CHECK sees one row.
    op.execute(
        """
        CREATE FUNCTION client_group_staff_limit() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF (SELECT count(*) FROM client_group_staff
                WHERE tenant_id = NEW.tenant_id AND group_id = NEW.group_id) > 20 THEN
                RAISE EXCEPTION 'at most 20 staff members per group' USING ERRCODE = 'check_violation',
                    CONSTRAINT = 'client_group_staff_limit';
            END IF;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE CONSTRAINT TRIGGER client_group_staff_limit AFTER INSERT ON client_group_staff"
        " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION client_group_staff_limit()"
    )


def downgrade() -> None:
    op.execute("DROP TABLE client_group_staff")
    op.execute("DROP FUNCTION client_group_staff_limit()")
