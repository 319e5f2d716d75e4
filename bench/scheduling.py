"""The scheduling part of `make bench`: availability at the issue's size, and contended booking.

1. Availability for 1 service x 20 staff x 30 days with 2,000 existing appointments, through the gateway at
   concurrency 1, against the raw SQL that reads the same inputs (the same statements on the scheduling
   database, one after another): ours p99 <= 3x raw p50.
2. Contended booking through the gateway, 64 workers aiming at the same few hundred slots: attempts per
   second (successes and 409s alike) against raw INSERTs into a scratch table with the same exclusion
   constraint; a conflict no dearer than a success; and no overlap afterwards.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from bench.load import closed_loop, figures
from bench.measurements import Bench
from bench.report import Result
from bench.stack import StackError
from scheduling_svc.adapters.catalogue_store import STAFF_BUSY

STAFF = 20
DAYS = 30
EXISTING = 2000
ZONE = ZoneInfo("Europe/Berlin")
WEEK_9_TO_17 = [{"weekday": d, "ranges": [{"start": "09:00", "end": "17:00"}]} for d in range(7)]
CONTENDED_SLOTS = 300  # (staff, start) pairs the booking workers aim at


class _Api:
    """JSON calls with a tenant's own token (the bench session carries the main tenant's)."""

    def __init__(self, bench: Bench, token: str) -> None:
        self.bench = bench
        self.headers = {"Authorization": f"Bearer {token}"}

    async def call(self, method: str, path: str, json: Any = None, params: Any = None) -> tuple[int, Any]:
        async with self.bench.http.request(
            method, self.bench.url(path), json=json, params=params, headers=self.headers
        ) as response:
            return response.status, await response.json(content_type=None)

    async def ok(self, method: str, path: str, json: Any = None) -> Any:
        status, body = await self.call(method, path, json)
        if status not in (200, 201):
            raise StackError(f"{method} {path} answered {status}: {body}")
        return body


async def _business(bench: Bench) -> tuple[_Api, uuid.UUID, list[str], str, list[str], date]:
    """A tenant of its own: 20 staff working 09:00-17:00 every day, one 60-minute service, 100 clients."""
    tenant = await bench.stack.sign_up(bench.http)
    api = _Api(bench, tenant.token)
    me = await api.ok("GET", "/api/v1/me")
    staff = [me["id"]]
    for n in range(STAFF - 1):
        body = {"email": f"bench-staff-{n}-{uuid.uuid4().hex[:6]}@example.com", "password": "bench password 1"}
        staff.append((await api.ok("POST", "/api/v1/staff", {**body, "role": "staff"}))["id"])
    await api.ok(
        "PUT",
        "/api/v1/scheduling/settings",
        {
            "timezone": "Europe/Berlin",
            "slot_rules": {"granularity_minutes": 30, "min_notice_minutes": 0, "horizon_days": 90},
        },
    )
    for staff_id in staff:
        await api.ok(
            "PUT", f"/api/v1/staff-schedules/{staff_id}", {"timezone": "Europe/Berlin", "weekly_hours": WEEK_9_TO_17}
        )
    service = await api.ok(
        "POST",
        "/api/v1/services",
        {
            "name": "Session",
            "duration_minutes": 60,
            "price": {"amount_minor": 5000, "currency": "EUR"},
            "staff_ids": staff,
        },
    )
    clients = [(await api.ok("POST", "/api/v1/clients", {"first_name": f"B{n}"}))["id"] for n in range(100)]
    first_day = (datetime.now(ZONE) + timedelta(days=2)).date()
    return api, tenant.id, staff, service["id"], clients, first_day


def _local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE)


async def availability(bench: Bench) -> Result:
    s = bench.settings
    api, tenant_id, staff, service_id, clients, first_day = await _business(bench)
    # 2,000 appointments, 100 per staff member, none overlapping: staff k % 20, four per day at 09, 11, 13, 15.
    semaphore = asyncio.Semaphore(16)

    async def book(k: int) -> None:
        slot = k // STAFF
        start = _local(first_day + timedelta(days=slot // 4), 9 + 2 * (slot % 4))
        async with semaphore:
            await api.ok(
                "POST",
                "/api/v1/appointments",
                {
                    "client_id": clients[k % len(clients)],
                    "segments": [{"service_id": service_id, "staff_id": staff[k % STAFF]}],
                    "start": start.isoformat(),
                    "override_availability": True,
                },
            )

    await asyncio.gather(*(book(k) for k in range(EXISTING)))
    params = {
        "service_ids": service_id,
        "from": first_day.isoformat(),
        "to": (first_day + timedelta(days=DAYS - 1)).isoformat(),
    }

    status, body = await api.call("GET", "/api/v1/availability", params=params)
    if status != 200 or not body["slots"]:
        raise StackError(f"availability answered {status} with {len(body.get('slots') or ())} slots")
    size = len(body["slots"])

    async def ours_op() -> bool:
        # The whole answer is read, not parsed: decoding it is the caller's work, not the service's.
        async with bench.http.get(bench.url("/api/v1/availability"), params=params, headers=api.headers) as response:
            await response.read()
            return response.status == 200

    ours = await closed_loop(ours_op, workers=1, seconds=s.seconds, warmup=s.warmup_seconds)

    window_start = _local(first_day, 0) - timedelta(days=1)
    window_end = _local(first_day + timedelta(days=DAYS), 0) + timedelta(days=1)
    staff_ids = [uuid.UUID(x) for x in staff]
    service = uuid.UUID(service_id)
    pool = await asyncpg.create_pool(bench.stack.database_dsn("scheduling"), min_size=1, max_size=1)
    try:
        # What CatalogueStore.availability_inputs reads without its cache, statement for statement; the bookings
        # through the very statement the service runs.
        statements: list[tuple[str, tuple[Any, ...]]] = [
            ("SELECT * FROM scheduling_settings WHERE tenant_id = $1", (tenant_id,)),
            ("SELECT * FROM services WHERE tenant_id = $1 AND id = ANY($2::uuid[])", (tenant_id, [service])),
            (
                "SELECT service_id, staff_id FROM service_staff WHERE tenant_id = $1 AND service_id = ANY($2::uuid[])",
                (tenant_id, [service]),
            ),
            (
                "SELECT service_id, resource_id FROM service_resources"
                " WHERE tenant_id = $1 AND service_id = ANY($2::uuid[])",
                (tenant_id, [service]),
            ),
            ("SELECT * FROM staff_members WHERE tenant_id = $1 AND staff_id = ANY($2::uuid[])", (tenant_id, staff_ids)),
            (
                "SELECT staff_id, service_id FROM service_staff WHERE tenant_id = $1 AND staff_id = ANY($2::uuid[])",
                (tenant_id, staff_ids),
            ),
            (
                "SELECT * FROM schedule_exceptions"
                " WHERE tenant_id = $1 AND (staff_id = ANY($2::uuid[]) OR staff_id IS NULL) AND day BETWEEN $3 AND $4",
                (tenant_id, staff_ids, window_start.date(), window_end.date()),
            ),
            (STAFF_BUSY, (tenant_id, staff_ids, window_start, window_end)),
        ]

        async def raw_op() -> bool:
            async with pool.acquire() as conn:
                for sql, args in statements:
                    await conn.fetch(sql, *args)
            return True

        raw = await closed_loop(raw_op, workers=1, seconds=s.seconds, warmup=s.warmup_seconds)
    finally:
        await pool.close()
    ratio = ours.p99_ms / raw.p50_ms if ours.p99_ms and raw.p50_ms else None
    return Result(
        name="availability 20x30d/2000",
        ours=ours,
        raw=raw,
        ratio=ratio,
        target="p99<=3x raw p50",
        passed=ratio is not None and ratio <= 3 and ours.errors == 0,
        notes=[
            f"ratio is ours p99 / raw p50 (time, lower is better); {EXISTING} existing appointments, {STAFF} staff,"
            f" {size} slots an answer"
        ],
    )


def _target(staff: list[str], first_day: date, n: int) -> tuple[str, datetime]:
    """The n-th contended (staff, start): four staff members, every half hour from 09:00 to 15:30."""
    half_hours = (n // 4) % 14
    day = first_day + timedelta(days=(n // 4) // 14)
    return staff[n % 4], _local(day, 9 + half_hours // 2, 30 * (half_hours % 2))


async def contended_booking(bench: Bench) -> Result:
    s = bench.settings
    api, tenant_id, staff, service_id, clients, first_day = await _business(bench)
    # Starts on the half hour, 60-minute bookings: neighbouring targets overlap, as real contention does.
    targets = [_target(staff, first_day, n) for n in range(CONTENDED_SLOTS)]
    succeeded: list[float] = []
    conflicted: list[float] = []

    async def ours_op() -> bool:
        staff_id, start = random.choice(targets)
        body = {
            "client_id": random.choice(clients),
            "segments": [{"service_id": service_id, "staff_id": staff_id}],
            "start": start.isoformat(),
            "override_availability": True,  # the database alone decides, as for the raw inserts
        }
        began = datetime.now(UTC)
        status, _ = await api.call("POST", "/api/v1/appointments", json=body)
        took = (datetime.now(UTC) - began).total_seconds() * 1000
        (succeeded if status == 201 else conflicted).append(took)
        return status in (201, 409)

    ours = await closed_loop(ours_op, workers=s.concurrency, seconds=s.seconds, warmup=s.warmup_seconds)

    conn = await asyncpg.connect(bench.stack.database_dsn("scheduling"))
    try:
        overlaps = await conn.fetchval(
            "SELECT count(*) FROM time_blocks a JOIN time_blocks b ON a.staff_id = b.staff_id AND a.id < b.id"
            " AND a.occupied && b.occupied WHERE a.tenant_id = $1 AND NOT a.released AND NOT b.released",
            tenant_id,
        )
        table = f"bench_raw_booking_{bench.scratch}"
        await conn.execute(
            f"CREATE TABLE {table} (id uuid PRIMARY KEY, staff_key bigint NOT NULL, occupied tstzrange NOT NULL,"
            " EXCLUDE USING gist (int8range(staff_key, staff_key, '[]') WITH =, occupied WITH &&))"
        )
    finally:
        await conn.close()
    pool = await asyncpg.create_pool(
        bench.stack.database_dsn("scheduling"), min_size=s.concurrency, max_size=s.concurrency
    )
    raw_targets = [(n % 4, start) for n, (_, start) in enumerate(targets)]

    async def raw_op() -> bool:
        key, start = random.choice(raw_targets)
        try:
            await pool.execute(
                f"INSERT INTO {table} VALUES ($1, $2, tstzrange($3, $4))",
                uuid.uuid4(),
                key,
                start,
                start + timedelta(hours=1),
            )
        except asyncpg.ExclusionViolationError:
            pass
        return True

    try:
        raw = await closed_loop(raw_op, workers=s.concurrency, seconds=s.seconds, warmup=s.warmup_seconds)
        await pool.execute(f"DROP TABLE {table}")
    finally:
        await pool.close()
    ok, refused = figures(succeeded, seconds=1), figures(conflicted, seconds=1)
    ratio = ours.ops_per_s / raw.ops_per_s if raw.ops_per_s else None
    conflict_ok = refused.p50_ms is None or ok.p50_ms is None or refused.p50_ms <= ok.p50_ms * 1.1
    tail_ok = ours.p50_ms is not None and ours.p99_ms is not None and ours.p99_ms <= 3 * ours.p50_ms
    return Result(
        name=f"contended booking @{s.concurrency}",
        ours=ours,
        raw=raw,
        ratio=ratio,
        target=">=0.15x, p99<=3p50",
        passed=ratio is not None and ratio >= 0.15 and tail_ok and conflict_ok and overlaps == 0 and ours.errors == 0,
        notes=[
            f"successes {ok.count} (p50 {ok.p50_ms or 0:.2f} ms), conflicts {refused.count} (p50"
            f" {refused.p50_ms or 0:.2f} ms){'' if conflict_ok else ' MISS: a conflict costs more than a success'}",
            f"overlapping bookings afterwards: {overlaps} (target 0)",
            f"p99/p50 = {(ours.p99_ms or 0) / (ours.p50_ms or 1):.2f} (target <= 3){'' if tail_ok else ' MISS'}",
        ],
    )
