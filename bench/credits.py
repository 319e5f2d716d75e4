"""The credits part of `make bench`: consumption against a membership book.

A tenant of its own holds 1,000 clients, each charged with a lot of sessions of one credit type that pays
for a service. 16 workers check random clients in through the gateway (each check-in consumes one session
under the lot's row lock: find the first-expiring usable lot, write the use's double entries, the check-in
and its event), against raw single-row INSERTs of ledger entries into a scratch table, 16 at once, in the
same run. Afterwards the ledger is audited: every lot's holding (the sum of its entries) is within 0 and
its amount, and the sessions used are the check-ins that succeeded (zero overdrafts, nothing lost).

Two more rows tell where the gateway figure stands: the same check-ins sent straight to the billing service's
gRPC boundary (`LedgerService.CheckIn`, 16 at once: the service's own cost), and the bare pipeline's POST
(aiohttp -> grpc.aio -> asyncpg carrying the raw side's own write, one INSERT committed by itself, nothing else;
bench/bare.py) at the same 16 workers, which is the most any write through these hops reaches on this machine.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import Any

import asyncpg

from atrium.membership_billing.v1 import ledger_pb2 as ledger_pb
from atrium.membership_billing.v1.ledger_pb2_grpc import LedgerServiceStub
from bench.load import closed_loop
from bench.measurements import Bench, _ratio
from bench.report import Result
from bench.stack import StackError
from platform_core.grpc.channels import create_channel
from platform_core.grpc.context import CallContext, Principal, bind_call_context

BOOK = 1000
WORKERS = 16
SESSIONS_PER_CLIENT = 100_000


async def _call(bench: Bench, token: str, method: str, path: str, json: Any = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    async with bench.http.request(method, bench.url(path), json=json, headers=headers) as response:
        return response.status, await response.json(content_type=None)


async def _ok(bench: Bench, token: str, method: str, path: str, json: Any = None) -> Any:
    status, body = await _call(bench, token, method, path, json)
    if status not in (200, 201):
        raise StackError(f"{method} {path} answered {status}: {body}")
    return body


async def check_ins(bench: Bench) -> list[Result]:
    s = bench.settings
    tenant = await bench.stack.sign_up(bench.http)
    token = tenant.token
    credit_type = await _ok(bench, token, "POST", "/api/v1/credit-types", {"name": "Session", "unit": "session"})
    service_id = str(uuid.uuid4())
    await _ok(
        bench,
        token,
        "PUT",
        f"/api/v1/services/{service_id}/credit-rules",
        {"rules": [{"credit_type_id": credit_type["id"], "units": 1}]},
    )
    semaphore = asyncio.Semaphore(WORKERS)

    async def member(n: int) -> str:
        async with semaphore:
            client = await _ok(bench, token, "POST", "/api/v1/clients", {"first_name": f"Member{n}"})
            await _ok(
                bench,
                token,
                "POST",
                f"/api/v1/clients/{client['id']}/credits/charges",
                {"credit_type_id": credit_type["id"], "amount": SESSIONS_PER_CLIENT},
            )
            return str(client["id"])

    book = await asyncio.gather(*(member(n) for n in range(BOOK)))
    checked_in = 0

    async def ours_op() -> bool:
        nonlocal checked_in
        status, _ = await _call(
            bench, token, "POST", f"/api/v1/clients/{random.choice(book)}/check-ins", {"service_id": service_id}
        )
        if status == 201:
            checked_in += 1
        return status == 201

    ours = await closed_loop(ours_op, workers=WORKERS, seconds=s.seconds, warmup=s.warmup_seconds)

    channel = create_channel(f"127.0.0.1:{bench.stack.plan.grpc_ports['membership_billing']}", default_deadline=10)
    try:
        with bind_call_context(CallContext(tenant.id, Principal("staff", str(uuid.uuid4()), "owner"))):
            ledger = LedgerServiceStub(channel)

            async def grpc_op() -> bool:
                nonlocal checked_in
                await ledger.CheckIn(ledger_pb.CheckInRequest(client_id=random.choice(book), service_id=service_id))
                checked_in += 1
                return True

            at_service = await closed_loop(grpc_op, workers=WORKERS, seconds=s.seconds, warmup=s.warmup_seconds)
    finally:
        await channel.close()

    bare_url = await bench.bare_pipeline()

    async def bare_op() -> bool:
        # One INSERT committed by itself, as the raw side's: the cheapest write these hops can carry.
        async with bench.http.post(f"{bare_url}/clients?one_statement=1", json={"first_name": "Bench"}) as response:
            await response.read()
            return response.status == 201

    bare = await closed_loop(bare_op, workers=WORKERS, seconds=s.seconds, warmup=s.warmup_seconds)

    dsn = bench.stack.database_dsn("membership_billing")
    table = f"bench_raw_ledger_{bench.scratch}"
    pool = await asyncpg.create_pool(dsn, min_size=WORKERS, max_size=WORKERS)
    try:
        await pool.execute(
            f"CREATE TABLE {table} (tenant_id uuid NOT NULL, transaction_id uuid NOT NULL, lot_id uuid NOT NULL,"
            " account text NOT NULL, amount bigint NOT NULL, effective_at timestamptz NOT NULL,"
            " PRIMARY KEY (tenant_id, transaction_id, lot_id, account))"
        )
        lots = [uuid.uuid4() for _ in range(BOOK)]

        async def raw_op() -> bool:
            await pool.execute(
                f"INSERT INTO {table} VALUES ($1, $2, $3, 'client', -1, now())",
                tenant.id,
                uuid.uuid4(),
                random.choice(lots),
            )
            return True

        raw = await closed_loop(raw_op, workers=WORKERS, seconds=s.seconds, warmup=s.warmup_seconds)
        await pool.execute(f"DROP TABLE {table}")
        audit = await pool.fetchrow(
            "SELECT count(*) FILTER (WHERE held < 0 OR held > amount) AS overdrawn,"
            " coalesce(sum(amount - held), 0) AS used"
            " FROM (SELECT l.amount, coalesce(sum(e.amount), 0) AS held FROM credit_lots l"
            " LEFT JOIN ledger_entries e ON e.tenant_id = l.tenant_id AND e.lot_id = l.id AND e.account = 'client'"
            " WHERE l.tenant_id = $1 GROUP BY l.tenant_id, l.id, l.amount) lots",
            tenant.id,
        )
    finally:
        await pool.close()
    overdrawn, used = int(audit["overdrawn"]), int(audit["used"])
    ratio = _ratio(ours.ops_per_s, raw.ops_per_s)
    # Every successful check-in (warm-up included, both ways in) used exactly one session, and no lot went
    # below zero.
    exact = used == checked_in and overdrawn == 0
    audit_note = f"audit: {overdrawn} lots overdrawn, {used} sessions used by {checked_in} check-ins"
    return [
        Result(
            name=f"check-ins {BOOK} members @{WORKERS}",
            ours=ours,
            raw=raw,
            ratio=ratio,
            target=">=0.25x, 0 overdrafts",
            passed=ratio is not None and ratio >= 0.25 and exact and ours.errors == 0,
            notes=[
                f"raw: single-row ledger-entry INSERTs; {audit_note}",
                f"ours / bare pipeline POST at {WORKERS} = {_ratio(ours.ops_per_s, bare.ops_per_s) or 0:.2f}x",
            ],
        ),
        Result(
            name=f"check-ins gRPC @{WORKERS}",
            ours=at_service,
            raw=raw,
            ratio=_ratio(at_service.ops_per_s, raw.ops_per_s),
            target="reference",
            passed=None,
            notes=["LedgerService.CheckIn straight to the billing service (no gateway), same members and service"],
        ),
        Result(
            name=f"POST bare pipeline @{WORKERS}",
            ours=bare,
            raw=raw,
            ratio=_ratio(bare.ops_per_s, raw.ops_per_s),
            target="reference",
            passed=None,
            notes=["aiohttp -> grpc.aio -> asyncpg, one single-row INSERT committed by itself (bench/bare.py)"],
        ),
    ]
