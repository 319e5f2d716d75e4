"""Requests from the public booking page, waiting for the one-time code emailed to the visitor: what they asked
for, a hash of the code (never the code), when it expires and how many wrong codes were entered (the fifth
locks it). Confirmed, it names the ordinary request it became and the client it was made for.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

STATEMENTS = [
    r"""
    CREATE TABLE public_requests (
        tenant_id uuid NOT NULL,
        id uuid NOT NULL,
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        email text NOT NULL CHECK (length(email) BETWEEN 3 AND 320 AND email = lower(email)),
        phone text NOT NULL CHECK (length(phone) <= 40),
        service_id uuid NOT NULL,
        preferred_staff_id uuid,
        start_at timestamptz NOT NULL,
        message text NOT NULL CHECK (length(message) <= 1000),
        timezone text NOT NULL CHECK (length(timezone) BETWEEN 1 AND 64),
        language text NOT NULL CHECK (length(language) BETWEEN 2 AND 35),
        code_hash bytea NOT NULL CHECK (length(code_hash) = 32),
        expires_at timestamptz NOT NULL,
        wrong_codes integer NOT NULL DEFAULT 0 CHECK (wrong_codes BETWEEN 0 AND 5),
        status text NOT NULL CHECK (status IN ('pending', 'confirmed', 'locked')),
        request_id uuid,
        client_id uuid,
        created_at timestamptz NOT NULL,
        PRIMARY KEY (tenant_id, id),
        CHECK (expires_at > created_at),
        -- The fifth wrong code locks it; a confirmed one names the request it became and its client.
        CHECK ((status = 'locked') = (wrong_codes = 5)),
        CHECK ((status = 'confirmed') = (request_id IS NOT NULL AND client_id IS NOT NULL))
    )
    """,
    "CREATE INDEX public_requests_created ON public_requests (created_at)",
    r"""
    CREATE FUNCTION public_requests_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        -- pending -> confirmed | locked, and nothing after; wrong codes are only ever added.
        IF (OLD.status <> 'pending' AND NEW.status IS DISTINCT FROM OLD.status)
           OR NEW.wrong_codes < OLD.wrong_codes
           OR NEW.code_hash IS DISTINCT FROM OLD.code_hash OR NEW.expires_at IS DISTINCT FROM OLD.expires_at THEN
            RAISE EXCEPTION 'public request % cannot change from % to %', OLD.id, OLD.status, NEW.status
                USING ERRCODE = 'check_violation', CONSTRAINT = 'public_requests_guard';
        END IF;
        RETURN NEW;
    END
    $$
    """,
    r"""
    CREATE TRIGGER public_requests_guard BEFORE UPDATE ON public_requests
        FOR EACH ROW EXECUTE FUNCTION public_requests_guard()
    """,
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE public_requests")
    op.execute("DROP FUNCTION public_requests_guard()")
