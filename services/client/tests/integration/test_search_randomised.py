"""Name, phone and email search on a seeded random data set: every page of every search is what the
search's rules give (prefix matches newest first, then typo matches newest first; deleted clients only
when asked), and the prepared statements the unfiltered searches run return exactly what the same search
returns through SQLAlchemy with a filter that keeps every client."""

from __future__ import annotations

import random
import uuid

import grpc
import pytest

from atrium.client.v1 import client_service_pb2 as pb
from atrium.common.v1 import types_pb2
from client_svc.domain import fuzzy
from platform_core.grpc.context import CallContext, Principal, bind_call_context

from .stubs import ClientStubs

# Few, similar names: many prefix matches, many typo candidates, many near misses.
FIRST = ["Anna", "Ana", "Annx", "Jon", "John", "Jonh", "Joan", "Mary", "Marya", "Myra", "Omar", "Beth"]
LAST = ["Smith", "Smiht", "Smithers", "Smyth", "Jones", "Jonas", "Joans", "Stone", "Stoen", "Li", "Lee"]


@pytest.fixture
def stub(client_channel: grpc.aio.Channel) -> ClientStubs:
    return ClientStubs(client_channel)


def expected(clients: list[tuple[str, str, str, bool]], query: str, *, include_deleted: bool) -> list[str]:
    """The search's rules over (id, first, last, deleted): the ids it lists, in order."""
    prefixes = query.lower().split()
    typed = [w for p in prefixes for w in fuzzy.words(p)]
    looks_up = any(fuzzy.lookup_keys(w) for w in typed)
    prefix, typo = [], []
    for client_id, first, last, deleted in newest_first(clients):
        if deleted and not include_deleted:
            continue
        if all(first.lower().startswith(p) or last.lower().startswith(p) for p in prefixes):
            prefix.append(client_id)
        elif looks_up and fuzzy.matches(typed, first, last, ""):
            typo.append(client_id)
    return prefix + typo


def newest_first(clients: list[tuple[str, str, str, bool]]) -> list[tuple[str, str, str, bool]]:
    return sorted(clients, key=lambda c: uuid.UUID(c[0]), reverse=True)


async def every_page(stub: ClientStubs, query: str, page_size: int, **filters: object) -> list[str]:
    seen: list[str] = []
    token = ""
    while True:
        page = await stub.ListClients(
            pb.ListClientsRequest(
                query=query,
                default_region="US",
                page=types_pb2.PageRequest(page_size=page_size, page_token=token),
                **filters,
            )
        )
        assert len(page.clients) <= page_size
        seen += [c.id for c in page.clients]
        token = page.page.next_page_token
        if not token:
            return seen


async def test_searches_list_what_the_rules_give_on_every_page(stub: ClientStubs) -> None:
    rng = random.Random(20_261_207)
    tenant = uuid.uuid4()
    clients: list[tuple[str, str, str, bool]] = []
    with bind_call_context(CallContext(tenant, Principal("staff", str(uuid.uuid4()), "owner"))):
        for n in range(90):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            created = await stub.CreateClient(
                pb.CreateClientRequest(
                    first_name=first,
                    last_name=last,
                    email=f"{first.lower()}.{last.lower()}@example{n}.com",
                    phone=f"+1212300{n % 30:04d}",
                )
            )
            deleted = rng.random() < 0.15
            if deleted:
                await stub.DeleteClient(pb.DeleteClientRequest(id=created.id))
            clients.append((created.id, first, last, deleted))
        words = FIRST + LAST
        queries = ["sm", "smi", "jo smith", "anna", "ana", "marya", "jonh smiht", "stoen", "li", "lee jo"]
        queries += [rng.choice(words)[: rng.randint(2, 7)] + " " + rng.choice(words) for _ in range(15)]
        for query in queries:
            for include_deleted in (False, True):
                want = expected(clients, query, include_deleted=include_deleted)
                for page_size in (1, 3, 50):
                    got = await every_page(stub, query, page_size, include_deleted=include_deleted)
                    assert got == want, (query, include_deleted, page_size)
                # A filter every client passes takes the SQLAlchemy path: the same ids, the same pages.
                filtered = await every_page(
                    stub, query, 3, include_deleted=include_deleted, online_booking_blocked=False
                )
                assert filtered == want, (query, include_deleted)
        for n in (0, 7, 29):
            phone = f"(212) 300-{n:04d}"
            want = [c for c, _, _, deleted in newest_first(clients[n::30]) if not deleted]
            assert await every_page(stub, phone, 2) == want
            assert await every_page(stub, phone, 2, online_booking_blocked=False) == want
            _, first, last, _ = next(c for c in clients[n:] if not c[3])
            email = f"{first.lower()}.{last.lower()}@"
            want = [c for c, f, la, deleted in newest_first(clients) if (f, la) == (first, last) and not deleted]
            assert want
            assert await every_page(stub, email, 2) == want
            assert await every_page(stub, email, 2, online_booking_blocked=False) == want
