"""The bookings statements (catalogue_store.STAFF_BUSY and STAFF_BUSY_WITH_SESSIONS) read each staff member's spans
as int8 microseconds since the epoch: exactly the instants PostgreSQL stores, to the microsecond, before the epoch,
around a DST change and at the far end of the calendar, sorted by start, released time left out."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from platform_core.db import create_engine
from scheduling_svc.adapters.catalogue_store import STAFF_BUSY, STAFF_BUSY_WITH_SESSIONS
from scheduling_svc.config import SchedulingServiceSettings
from scheduling_svc.domain.availability import Busy, BusyMicros

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US = timedelta(microseconds=1)


async def test_the_bookings_statements_read_the_stored_instants_exactly(
    scheduling_settings: SchedulingServiceSettings, scheduling_channel: object
) -> None:
    tenant, staff, service = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    spans = [  # (start, length), inserted out of order
        (datetime(2026, 10, 25, 0, 59, 59, 999_999, tzinfo=UTC), timedelta(hours=1, microseconds=2)),  # Berlin's fall
        (datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC), 2 * US),  # across the epoch
        (datetime(9999, 12, 30, 0, 0, 0, 1, tzinfo=UTC), timedelta(hours=5)),
        (datetime(2026, 3, 29, 0, 30, 0, 123_457, tzinfo=UTC), timedelta(minutes=45)),
    ]
    released = (datetime(2026, 3, 29, 3, tzinfo=UTC), timedelta(hours=1))
    engine = create_engine(scheduling_settings.database_url("scheduling"), pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            driver: asyncpg.Connection = (await connection.get_raw_connection()).driver_connection
            key = await driver.fetchval(
                "INSERT INTO staff_members (tenant_id, staff_id, timezone, weekly_hours) VALUES ($1, $2, 'UTC', '{}')"
                " RETURNING staff_key",
                tenant,
                staff,
            )
            for (start, length), gone in [*((span, False) for span in spans), (released, True)]:
                await driver.execute(
                    "INSERT INTO time_blocks (tenant_id, id, staff_id, staff_key, service_id, session_start, occupied,"
                    " capacity, seats_taken, released) VALUES ($1, $2, $3, $4, $5, $6, tstzrange($6, $7), 3, $8, $9)",
                    tenant,
                    uuid.uuid4(),
                    staff,
                    key,
                    service,
                    start,
                    start + length,
                    0 if gone else 2,
                    gone,
                )
            window = (datetime(1900, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 12, tzinfo=UTC))
            expected = sorted((start, start + length) for start, length in spans)

            [(staff_id, starts, ends)] = await driver.fetch(STAFF_BUSY, tenant, [staff], *window)
            assert staff_id == staff
            assert (starts, ends) == (
                [(s - EPOCH) // US for s, _ in expected],
                [(e - EPOCH) // US for _, e in expected],
            )
            assert tuple(BusyMicros(starts, ends)) == tuple(Busy(s, e) for s, e in expected)

            [(_, *columns)] = await driver.fetch(STAFF_BUSY_WITH_SESSIONS, tenant, [staff], *window)
            assert tuple(BusyMicros(*columns)) == tuple(Busy(s, e, service, s, 2) for s, e in expected)
    finally:
        await engine.dispose()
