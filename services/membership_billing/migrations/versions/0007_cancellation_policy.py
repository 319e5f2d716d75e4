"""The cancellation and no-show policy: the business's rule and services' overrides, their windows, and the
policy applied to each appointment once (the primary key decides, whichever replica sees the event).

An outcome is free, a forfeit of a share (1..100 %) of the visit's credits, or a fee: a share of the price
or a fixed amount with its currency; a CHECK holds each shape. The repeat-offender rule and whether staff
cancellations count are the business's alone.

Revision ID: 0007
Revises: 0005
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

MAX_AMOUNT = 10**13


def outcome_check(prefix: str) -> str:
    kind, percent, fee, currency = (f"{prefix}kind", f"{prefix}percent", f"{prefix}fee_minor", f"{prefix}currency")
    return f"""CHECK (
        ({kind} = 'free' AND {percent} IS NULL AND {fee} IS NULL AND {currency} IS NULL)
        OR ({kind} = 'forfeit' AND {percent} BETWEEN 1 AND 100 AND {fee} IS NULL AND {currency} IS NULL)
        OR ({kind} = 'fee' AND {percent} BETWEEN 1 AND 100 AND {fee} IS NULL AND {currency} IS NULL)
        OR ({kind} = 'fee' AND {percent} IS NULL AND {fee} BETWEEN 1 AND {MAX_AMOUNT}
            AND {currency} ~ '^[A-Z]{{3}}$')
    )"""


STATEMENTS = [
    rf"""
    CREATE TABLE cancellation_policies (
        tenant_id uuid NOT NULL,
        id uuid NOT NULL,
        -- NULL: the business's rule; else scheduling's service it overrides the rule for.
        service_id uuid,
        no_show_kind text NOT NULL,
        no_show_percent integer,
        no_show_fee_minor bigint,
        no_show_currency text,
        repeat_no_shows integer,
        repeat_period_days integer,
        repeat_block_days integer,
        applies_to_staff_cancellations boolean NOT NULL DEFAULT false,
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (tenant_id, id),
        {outcome_check("no_show_")},
        CONSTRAINT cancellation_policies_repeat CHECK (
            (repeat_no_shows IS NULL AND repeat_period_days IS NULL AND repeat_block_days IS NULL)
            OR (service_id IS NULL AND repeat_no_shows BETWEEN 1 AND 100
                AND repeat_period_days BETWEEN 1 AND 366 AND repeat_block_days BETWEEN 1 AND 366)
        ),
        CONSTRAINT cancellation_policies_staff CHECK (service_id IS NULL OR NOT applies_to_staff_cancellations)
    )
    """,
    "CREATE UNIQUE INDEX cancellation_policies_business ON cancellation_policies (tenant_id) WHERE service_id IS NULL",
    "CREATE UNIQUE INDEX cancellation_policies_service ON cancellation_policies (tenant_id, service_id)"
    " WHERE service_id IS NOT NULL",
    rf"""
    CREATE TABLE cancellation_windows (
        tenant_id uuid NOT NULL,
        policy_id uuid NOT NULL,
        position integer NOT NULL CHECK (position BETWEEN 0 AND 5),
        within_hours integer CHECK (within_hours BETWEEN 1 AND 2160),
        within_days integer CHECK (within_days BETWEEN 1 AND 90),
        kind text NOT NULL,
        percent integer,
        fee_minor bigint,
        currency text,
        PRIMARY KEY (tenant_id, policy_id, position),
        FOREIGN KEY (tenant_id, policy_id) REFERENCES cancellation_policies (tenant_id, id) ON DELETE CASCADE,
        CONSTRAINT cancellation_windows_one_notice CHECK ((within_hours IS NULL) <> (within_days IS NULL)),
        {outcome_check("")}
    )
    """,
    "CREATE UNIQUE INDEX cancellation_windows_hours ON cancellation_windows (tenant_id, policy_id, within_hours)"
    " WHERE within_hours IS NOT NULL",
    "CREATE UNIQUE INDEX cancellation_windows_days ON cancellation_windows (tenant_id, policy_id, within_days)"
    " WHERE within_days IS NOT NULL",
    r"""
    CREATE TABLE policy_applications (
        tenant_id uuid NOT NULL,
        id uuid NOT NULL,
        appointment_id uuid NOT NULL,
        client_id uuid NOT NULL,
        reason text NOT NULL CHECK (reason IN ('early_cancellation', 'late_cancellation', 'no_show')),
        starts_at timestamptz NOT NULL,
        decided_at timestamptz NOT NULL,
        PRIMARY KEY (tenant_id, id),
        -- Once per appointment: a redelivered or repeated event finds the row and changes nothing.
        CONSTRAINT policy_applications_appointment UNIQUE (tenant_id, appointment_id)
    )
    """,
    "CREATE INDEX policy_applications_no_shows ON policy_applications (tenant_id, client_id, starts_at)"
    " WHERE reason = 'no_show'",
    "ALTER TABLE client_merge_moves DROP CONSTRAINT client_merge_moves_record_kind_check",
    "ALTER TABLE client_merge_moves ADD CONSTRAINT client_merge_moves_record_kind_check"
    " CHECK (record_kind IN ('invoice', 'payment', 'credit_lot', 'package_sale', 'check_in', 'subscription',"
    " 'policy_application'))",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DELETE FROM client_merge_moves WHERE record_kind = 'policy_application'")
    op.execute("ALTER TABLE client_merge_moves DROP CONSTRAINT client_merge_moves_record_kind_check")
    op.execute(
        "ALTER TABLE client_merge_moves ADD CONSTRAINT client_merge_moves_record_kind_check"
        " CHECK (record_kind IN ('invoice', 'payment', 'credit_lot', 'package_sale', 'check_in', 'subscription'))"
    )
    for table in ("policy_applications", "cancellation_windows", "cancellation_policies"):
        op.execute(f"DROP TABLE {table}")
