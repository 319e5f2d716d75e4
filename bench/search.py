"""Search over 100,000 clients of one tenant: p50/p99 at concurrency 1, next to a raw primary-key select.

The tenant is seeded straight into the client database (COPY), with the rows the service keeps for
typo-tolerant search (client_name_words, tenant_name_keys; computed by the service's own
domain/fuzzy.py), then vacuumed and analyzed as autovacuum would after an import.
The searches are what staff type: the start of a last name, a full name, a full name with a typo in
each word, a phone number in national format and the start of an email address, drawn from the seeded
clients. They go through the client gRPC API (and through the gateway), one at a time.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

import aiohttp
import asyncpg
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from atrium.client.v1 import client_service_pb2 as pb
from atrium.client.v1 import client_service_pb2_grpc as pb_grpc
from bench.exact_sql import RecordedRequest, StatementRecorder, describe, replay
from bench.load import Figures, closed_loop
from bench.measurements import CLIENT_COLUMNS, EXACT_SQL_SAMPLES, Bench
from bench.report import Result
from client_svc.adapters.import_store import POINT_COLUMNS
from client_svc.domain.fuzzy import MIN_TYPO_WORD, name_words, word_keys
from client_svc.entrypoints.grpc_server import client_page
from platform_core.grpc.channels import create_channel
from platform_core.grpc.context import CallContext, Principal, bind_call_context
from platform_core.ids import new_id

FIRST_NAMES = (
    "James Mary John Patricia Robert Jennifer Michael Linda David Elizabeth William Barbara Richard Susan Joseph "
    "Jessica Thomas Sarah Christopher Karen Charles Lisa Daniel Nancy Matthew Betty Anthony Sandra Mark Margaret "
    "Donald Ashley Steven Kimberly Andrew Emily Paul Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian "
    "Melissa George Deborah Timothy Stephanie Ronald Dorothy Jason Rebecca Edward Sharon Jeffrey Laura Ryan "
    "Cynthia Jacob Amy Gary Kathleen Nicholas Angela Eric Shirley Jonathan Brenda Stephen Emma Larry Anna Justin "
    "Pamela Scott Nicole Brandon Samantha Benjamin Katherine Samuel Christine Gregory Helen Alexander Debra Patrick "
    "Rachel Frank Carolyn Raymond Janet Jack Maria Dennis Catherine Jerry Heather Tyler Diane Aaron Olivia Jose "
    "Julie Adam Joyce Nathan Victoria Henry Ruth Zachary Virginia Douglas Lauren Peter Kelly Kyle Christina Noah "
    "Joan Ethan Evelyn Jeremy Judith Walter Andrea Christian Hannah Keith Megan Roger Cheryl Terry Jacqueline "
    "Austin Martha Sean Madison Gerald Teresa Carl Gloria Harold Sara Dylan Janice Arthur Ann Lawrence Kathryn "
    "Jordan Abigail Jesse Sophia Bryan Frances Billy Jean Bruce Alice Gabriel Judy Joe Isabella Logan Julia"
).split()
LAST_NAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson "
    "Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis "
    "Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera "
    "Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart "
    "Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim "
    "Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo "
    "Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler "
    "Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds "
    "Griffin Wallace Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford "
    "Castro Marshall Owens Harrison Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman "
    "Webb Tucker Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon "
    "Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice "
    "Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kelley Spencer "
    "Hawkins Arnold Pierce Vazquez Hansen Peters Santos Hart Bradley Knight Elliott Cunningham Duncan Armstrong "
    "Hudson Carroll Lane Riley Andrews Alvarado Ray Delgado Berry Perkins Hoffman Johnston Matthews Pena Richards "
    "Contreras Willis Carpenter Lawrence Sandoval Guerrero George Chapman Rios Estrada Ortega Watkins Greene "
    "Nunez Wheeler Valdez Harper Burke Larson Santiago Maldonado Morrison Franklin Carlson Austin Dominguez Carr "
    "Lawson Jacobs Obrien Lynch Singh Vega Bishop Montgomery Oliver Jensen Harvey Williamson Gilbert Dean Sims "
    "Espinoza Howell Li Wong Reid Hanson Le McCoy Garrett Burton Fuller Wang Weber Welch Rojas Lucas Marquez "
    "Fields Park Yang Little Banks Padilla Day Walsh Bowman Schultz Luna Fowler Mejia Davidson Acosta Brewer"
).split()

COPY_CLIENT_COLUMNS = ["tenant_id", "id", "first_name", "last_name", "email", "phone", "created_at", "updated_at"]


@dataclass(frozen=True)
class Seeded:
    tenant_id: uuid.UUID
    ids: list[uuid.UUID]
    names: list[tuple[str, str]]
    emails: list[str]
    phones: list[str]  # national format, as typed in a US business


async def seed(conn: asyncpg.Connection, tenant_id: uuid.UUID, count: int, *, rng: random.Random) -> Seeded:
    """``count`` clients of one tenant, their contact points, indexed words and the tenant's key dictionary,
    in four COPYs; the live count follows."""
    now = datetime.now(UTC)
    ids: list[uuid.UUID] = []
    names: list[tuple[str, str]] = []
    emails: list[str] = []
    phones: list[str] = []
    clients: list[tuple[object, ...]] = []
    points: list[tuple[object, ...]] = []
    words: list[tuple[object, ...]] = []
    dictionary: set[str] = set()
    for n in range(count):
        client_id = new_id()
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{first.lower()}.{last.lower()}{n}@example.com"
        local = f"{300 + n // 10_000:03d}{n % 10_000:04d}"  # exchanges 300-399: valid US numbers
        phone = f"+1212{local}"
        ids.append(client_id)
        names.append((first, last))
        emails.append(email)
        phones.append(f"(212) {local[:3]}-{local[3:]}")
        clients.append((tenant_id, client_id, first, last, email, phone, now, now))
        # Search reads emails and phones from the contact points (every one a client has, not only the primary).
        points.append((tenant_id, new_id(), client_id, "email", email, "other", True, 0))
        points.append((tenant_id, new_id(), client_id, "phone", phone, "mobile", True, 0))
        indexed = name_words(first, last)
        words.extend((tenant_id, word, client_id) for word in indexed)
        dictionary |= indexed
    keys = [(tenant_id, key, word) for word in dictionary for key in word_keys(word)]
    async with conn.transaction():
        await conn.copy_records_to_table("clients", columns=COPY_CLIENT_COLUMNS, records=clients)
        await conn.copy_records_to_table("client_contact_points", columns=list(POINT_COLUMNS), records=points)
        await conn.copy_records_to_table("client_name_words", columns=["tenant_id", "word", "client_id"], records=words)
        await conn.copy_records_to_table("tenant_name_keys", columns=["tenant_id", "key", "word"], records=keys)
        await conn.execute(
            "INSERT INTO tenant_client_counts AS c (tenant_id, live_clients) VALUES ($1, $2) "
            "ON CONFLICT (tenant_id) DO UPDATE SET live_clients = c.live_clients + $2",
            tenant_id,
            count,
        )
    # Fresh statistics and visibility map, as autovacuum would leave them after a bulk import.
    for table in ("clients", "client_contact_points", "client_name_words", "tenant_name_keys"):
        await conn.execute(f"VACUUM ANALYZE {table}")
    return Seeded(tenant_id, ids, names, emails, phones)


def typo(word: str, rng: random.Random) -> str:
    """The word with two neighbouring letters swapped; a word too short to have a typo forgiven in it
    (domain/fuzzy.py: MIN_TYPO_WORD) stays as it is, so every search has a right answer."""
    if len(word) < MIN_TYPO_WORD:
        return word
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


# What staff type, by kind: the kind names the result line.
QUERY_KINDS = {
    "prefix": "the start of a last name",
    "full name": "a first and last name",
    "typos": "a first and last name, two letters swapped in each long enough to forgive it",
    "phone": "a phone number, national format",
    "email": "the start of an email address",
}


def queries(seeded: Seeded, rng: random.Random, count: int = 500) -> dict[str, list[str]]:
    """Searches drawn from the seeded clients, by kind."""
    picks = [rng.randrange(len(seeded.ids)) for _ in range(count)]
    return {
        "prefix": [seeded.names[i][1][:3] for i in picks],
        "full name": [f"{seeded.names[i][0]} {seeded.names[i][1]}" for i in picks],
        "typos": [f"{typo(seeded.names[i][0], rng)} {typo(seeded.names[i][1], rng)}" for i in picks],
        "phone": [seeded.phones[i] for i in picks],
        "email": [seeded.emails[i].split("@")[0] + "@" for i in picks],
    }


Searcher = Callable[[str], Awaitable[bool]]


def grpc_searcher(stub: pb_grpc.ClientRecordsStub) -> Searcher:
    async def search(q: str) -> bool:
        reply = await stub.ListClients(_request(q))
        return len(reply.clients) > 0

    return search


def gateway_searcher(http: aiohttp.ClientSession, base_url: str, token: str) -> Searcher:
    headers = {"Authorization": f"Bearer {token}"}

    async def search(q: str) -> bool:
        async with http.get(f"{base_url}/api/v1/clients", params={"q": q}, headers=headers) as response:
            body = await response.json(content_type=None)
            return response.status == 200 and len(body["items"]) > 0

    return search


async def one_at_a_time(search: Searcher, typed: list[str], *, seconds: float, warmup: float) -> Figures:
    """One search at a time, cycling through ``typed``; a search that finds nobody counts as an error."""
    position = 0

    async def op() -> bool:
        nonlocal position
        q = typed[position % len(typed)]
        position += 1
        return await search(q)

    return await closed_loop(op, workers=1, seconds=seconds, warmup=warmup)


async def raw_pk_select(pool: asyncpg.Pool, seeded: Seeded, *, seconds: float, warmup: float) -> Figures:
    query = f"SELECT {CLIENT_COLUMNS} FROM clients WHERE tenant_id=$1 AND id=$2"

    async def op() -> bool:
        return await pool.fetchrow(query, seeded.tenant_id, random.choice(seeded.ids)) is not None

    return await closed_loop(op, workers=1, seconds=seconds, warmup=warmup)


def _result(name: str, ours: Figures, raw: Figures, notes: list[str], *, limit: float | None) -> Result:
    """``limit``: the most ours p99 may be, in raw p50s; None for a reference row."""
    ratio = ours.p99_ms / raw.p50_ms if ours.p99_ms is not None and raw.p50_ms else None
    return Result(
        name=name,
        ours=ours,
        raw=raw,
        ratio=ratio,
        target=f"p99<={limit:g}x raw p50" if limit is not None else "reference",
        passed=None if limit is None else ratio is not None and ratio <= limit and ours.errors == 0,
        notes=notes + ([f"first error: {ours.first_error[:200]}"] if ours.first_error else []),
    )


GRPC_LIMIT = 15.0
GATEWAY_LIMIT = 30.0


async def exact_sql(bench: Bench, seeded: Seeded, typed: dict[str, list[str]], raw: Figures) -> list[Result]:
    """Each kind's searches as the very statements ListClients runs for them, replayed raw one at a time."""
    s = bench.settings
    recorder = StatementRecorder(bench.stack.database_url("client"))
    recorded: dict[str, list[RecordedRequest]] = {}
    try:
        for kind, searches in typed.items():
            recorded[kind] = [
                await recorder.record(
                    partial(client_page, tenant_id=seeded.tenant_id, request=_request(q))  # the servicer's own
                )
                for q in searches[:EXACT_SQL_SAMPLES]
            ]
    finally:
        await recorder.close()
    results = []
    for kind, requests in recorded.items():
        position = 0

        async def op(requests: list[RecordedRequest] = requests) -> bool:
            nonlocal position
            position += 1
            return await replay(bench.client_db, requests[position % len(requests)])

        figures = await closed_loop(op, workers=1, seconds=s.seconds, warmup=s.warmup_seconds)
        note = f"ours here = ListClients' own SQL raw through asyncpg: {describe(requests)}"
        results.append(_result(f"search {kind} exact SQL @1", figures, raw, [note], limit=None))
    return results


def _request(q: str) -> pb.ListClientsRequest:
    return pb.ListClientsRequest(query=q, default_region="US")


async def search_clients(bench: Bench) -> list[Result]:
    """Search latency over ``BENCH_SEARCH_CLIENTS`` clients of one tenant, one search at a time."""
    s = bench.settings
    stack = bench.stack
    rng = random.Random(20_240_601)
    async with aiohttp.ClientSession() as http:
        tenant = await stack.sign_up(http)
    started = time.perf_counter()
    async with bench.client_db.acquire() as conn:
        seeded = await seed(conn, tenant.id, s.search_clients, rng=rng)
    seeded_in = time.perf_counter() - started
    log_note = f"{s.search_clients:,} clients of one tenant seeded (COPY, words and keys included) in {seeded_in:.0f}s"
    typed = queries(seeded, rng)
    raw = await raw_pk_select(bench.client_db, seeded, seconds=s.seconds, warmup=s.warmup_seconds)
    raw_note = "raw = asyncpg primary-key select of one client, concurrency 1; ratio = ours p99 / raw p50"

    results = []
    channel = create_channel(f"127.0.0.1:{stack.plan.grpc_ports['client']}", default_deadline=10)
    try:
        with bind_call_context(CallContext(tenant.id, Principal("staff", "bench", "owner"))):
            search = grpc_searcher(pb_grpc.ClientRecordsStub(channel))
            for kind, what in QUERY_KINDS.items():
                ours = await one_at_a_time(search, typed[kind], seconds=s.seconds, warmup=s.warmup_seconds)
                note = f"gRPC ListClients, {what}, e.g. {typed[kind][0]!r}"
                results.append(_result(f"search {kind} @1", ours, raw, [note], limit=GRPC_LIMIT))
        floor = await grpc_floor(channel, seconds=s.seconds, warmup=s.warmup_seconds)
    finally:
        await channel.close()
    mixed = [q for kinds in zip(*typed.values(), strict=True) for q in kinds]
    async with aiohttp.ClientSession() as http:
        search = gateway_searcher(http, stack.base_url, tenant.token)
        ours = await one_at_a_time(search, mixed, seconds=s.seconds, warmup=s.warmup_seconds)
    results.append(
        _result(
            "search mixed @1 gateway",
            ours,
            raw,
            ["GET /api/v1/clients?q=, the five kinds in turn"],
            limit=GATEWAY_LIMIT,
        )
    )
    floor_note = (
        f"floor: a gRPC health check of the client service (no query, no work), one at a time: p50"
        f" {floor.p50_ms or 0:.2f} ms, p99 {floor.p99_ms or 0:.2f} ms = {(floor.p99_ms or 0) / (raw.p50_ms or 1):.1f}x"
        " raw p50"
    )
    results[0].notes.extend([log_note, raw_note, floor_note])
    return results + await exact_sql(bench, seeded, typed, raw)


async def grpc_floor(channel: grpc.aio.Channel, *, seconds: float, warmup: float) -> Figures:
    """What any call to the service costs before it does anything: the standard health check."""
    health = health_pb2_grpc.HealthStub(channel)

    async def op() -> bool:
        reply = await health.Check(health_pb2.HealthCheckRequest())
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)

    return await closed_loop(op, workers=1, seconds=seconds, warmup=warmup)
