"""The messaging tables every service database holds: outbox, inbox and parked messages.

``define_tables`` states them in a unit's metadata (every column, key and index, checked against each unit's
migrated database by platform_dev.testing.schema; the CHECKs and the NOTIFY trigger stay in the DDL alone);
``create_v1``/``drop_v1`` are the frozen DDL that each service's first Alembic migration runs. A later change
to these tables gets a ``create_v2``, never an edit.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID

# NOTIFY channel the outbox trigger signals on commit; per database, so one name serves every service.
OUTBOX_CHANNEL = "atrium_outbox"


def define_tables(metadata: MetaData) -> tuple[Table, Table, Table]:
    outbox = Table(
        "outbox",
        metadata,
        Column("id", BigInteger, Identity(always=True), primary_key=True),
        Column("event_id", UUID(as_uuid=True), nullable=False, unique=True),
        Column("tenant_id", UUID(as_uuid=True), nullable=False),
        Column("subject", Text, nullable=False),
        Column("envelope", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True)),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        Column("last_error", Text),
    )
    Index("outbox_unpublished", outbox.c.id, postgresql_where=outbox.c.published_at.is_(None))
    Index("outbox_published_at", outbox.c.published_at, postgresql_where=outbox.c.published_at.isnot(None))
    inbox = Table(
        "inbox",
        metadata,
        Column("consumer", Text, primary_key=True),
        Column("event_id", UUID(as_uuid=True), primary_key=True),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Index("inbox_processed_at", "processed_at"),
    )
    parked = Table(
        "parked_messages",
        metadata,
        Column("id", BigInteger, Identity(always=True), primary_key=True),
        Column("consumer", Text, nullable=False),
        Column("subject", Text, nullable=False),
        Column("event_id", UUID(as_uuid=True)),
        Column("event_type", Text),
        Column("data", LargeBinary, nullable=False),
        Column("error", Text, nullable=False),
        Column("deliveries", Integer, nullable=False),
        Column("parked_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("replayed_at", DateTime(timezone=True)),
    )
    return outbox, inbox, parked


_CREATE_V1 = [
    """
    CREATE TABLE outbox (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        event_id uuid NOT NULL UNIQUE,
        tenant_id uuid NOT NULL,
        subject text NOT NULL CHECK (subject <> ''),
        envelope bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        published_at timestamptz,
        attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        last_error text
    )
    """,
    # The relay only ever scans what is still to publish.
    "CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL",
    "CREATE INDEX outbox_published_at ON outbox (published_at) WHERE published_at IS NOT NULL",
    # NOTIFY is delivered at commit, so the relay wakes exactly when new rows become visible.
    f"""
    CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('{OUTBOX_CHANNEL}', '');
        RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify()",
    """
    CREATE TABLE inbox (
        consumer text NOT NULL,
        event_id uuid NOT NULL,
        processed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (consumer, event_id)
    )
    """,
    "CREATE INDEX inbox_processed_at ON inbox (processed_at)",
    """
    CREATE TABLE parked_messages (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        consumer text NOT NULL,
        subject text NOT NULL,
        event_id uuid,
        event_type text,
        data bytea NOT NULL,
        error text NOT NULL,
        deliveries integer NOT NULL,
        parked_at timestamptz NOT NULL DEFAULT now(),
        replayed_at timestamptz
    )
    """,
]

_DROP_V1 = [
    "DROP TABLE parked_messages",
    "DROP TABLE inbox",
    "DROP TABLE outbox",
    "DROP FUNCTION outbox_notify()",
]


def create_v1(op: Any) -> None:
    for statement in _CREATE_V1:
        op.execute(statement)


def drop_v1(op: Any) -> None:
    for statement in _DROP_V1:
        op.execute(statement)
