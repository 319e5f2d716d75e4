"""Typo-tolerant name search over gRPC: exact and prefix matches first, then names a typo away."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import grpc
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from atrium.client.v1 import client_service_pb2 as pb
from atrium.common.v1 import types_pb2
from client_svc.config import ClientSettings
from platform_core.db import create_engine
from platform_core.grpc.context import CallContext, Principal, bind_call_context

from .stubs import ClientStubs


def staff(tenant: uuid.UUID) -> CallContext:
    return CallContext(tenant, Principal("staff", str(uuid.uuid4()), "staff"))


@pytest.fixture
def stub(client_channel: grpc.aio.Channel) -> ClientStubs:
    return ClientStubs(client_channel)


@pytest.fixture
async def db(client_settings: ClientSettings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(client_settings.database_url("client"), pool_size=1, max_overflow=0)
    yield engine
    await engine.dispose()


async def names(stub: ClientStubs, query: str, **filters: str) -> list[str]:
    reply = await stub.ListClients(pb.ListClientsRequest(query=query, **filters))
    return [" ".join(p for p in (c.first_name, c.last_name, c.profile.company_name) if p) for c in reply.clients]


async def test_typos_find_the_client_after_the_exact_and_prefix_matches(stub: ClientStubs) -> None:
    with bind_call_context(staff(uuid.uuid4())):
        for first, last in (
            ("John", "Smith"),
            ("Catherine", "Zeta"),
            ("Katherine", "Johnson"),
            ("José", "Álvarez"),
            ("Mary", "Smithers"),
            ("Omar", "Little"),
        ):
            await stub.CreateClient(pb.CreateClientRequest(first_name=first, last_name=last))
        await stub.CreateClient(
            pb.CreateClientRequest(
                first_name="", profile=pb.ClientProfile(kind="business", company_name="Acme Repairs")
            )
        )

        assert await names(stub, "Jonh Smiht") == ["John Smith"]
        assert await names(stub, "smiht") == ["John Smith"]
        assert await names(stub, "Katherine") == ["Katherine Johnson", "Catherine Zeta"]  # exact first
        assert await names(stub, "Catherine") == ["Catherine Zeta", "Katherine Johnson"]
        assert await names(stub, "jose alvarez") == ["José Álvarez"]  # accents folded
        assert await names(stub, "Smith") == ["Mary Smithers", "John Smith"]  # prefixes, newest first
        assert await names(stub, "acme") == ["Acme Repairs"]  # a company name word
        assert await names(stub, "acme repiars") == ["Acme Repairs"]
        assert await names(stub, "mark") == ["Mary Smithers"]  # one typo from "mary"; "omar" (two) is not found
        assert await names(stub, "jonh xyzzy") == []  # every word must match
        assert await names(stub, "Jo Smiht") == ["John Smith"]  # a short word by its start, a long one by typo


async def test_typo_matches_follow_the_list_filters(stub: ClientStubs) -> None:
    with bind_call_context(staff(uuid.uuid4())):
        kept = await stub.CreateClient(pb.CreateClientRequest(first_name="Jonathan", last_name="Smith"))
        gone = await stub.CreateClient(pb.CreateClientRequest(first_name="Jonathon", last_name="Smith"))
        await stub.DeleteClient(pb.DeleteClientRequest(id=gone.id))
        await stub.SetClientTags(pb.SetClientTagsRequest(id=kept.id, tags=["VIP"]))
        assert await names(stub, "jonathon") == ["Jonathan Smith"]  # the deleted exact match is not listed
        assert await names(stub, "jonathon", tag="vip") == ["Jonathan Smith"]
        assert await names(stub, "jonathon", tag="other") == []
        listed = await stub.ListClients(pb.ListClientsRequest(query="jonathon", include_deleted=True))
        assert [c.id for c in listed.clients] == [gone.id, kept.id]


async def test_pages_run_through_prefix_then_typo_matches_without_gaps_or_repeats(
    stub: ClientStubs,
) -> None:
    with bind_call_context(staff(uuid.uuid4())):
        prefixed = [(await stub.CreateClient(pb.CreateClientRequest(first_name=f"Anna{i}"))).id for i in range(3)]
        typos = [
            (await stub.CreateClient(pb.CreateClientRequest(first_name="Ana", last_name=f"Typo{i}"))).id
            for i in range(2)
        ] + [
            (await stub.CreateClient(pb.CreateClientRequest(first_name="Annx", last_name=f"Typo{i}"))).id
            for i in range(2)
        ]
        for page_size in (1, 2, 3, 4, 7, 8):
            seen: list[str] = []
            token = ""
            while True:
                page = await stub.ListClients(
                    pb.ListClientsRequest(
                        query="anna", page=types_pb2.PageRequest(page_size=page_size, page_token=token)
                    )
                )
                assert len(page.clients) <= page_size
                seen += [c.id for c in page.clients]
                token = page.page.next_page_token
                if not token:
                    break
            assert seen == list(reversed(prefixed)) + list(reversed(typos)), page_size
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await stub.ListClients(pb.ListClientsRequest(query="anna", page=types_pb2.PageRequest(page_token="AQID")))
        assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_typo_matches_behind_many_near_misses_are_found_in_order(stub: ClientStubs) -> None:
    # "Magarets" shares a lookup key with "margaret" but is no typo of it: 30 of them, newer than the two
    # real matches, fill more than the first batch the typo phase reads whole.
    with bind_call_context(staff(uuid.uuid4())):
        older = [
            (await stub.CreateClient(pb.CreateClientRequest(first_name="Margarte", last_name=f"Real{i}"))).id
            for i in range(3)
        ]
        for i in range(30):
            await stub.CreateClient(pb.CreateClientRequest(first_name="Magarets", last_name=f"Near{i}"))
        listed = await stub.ListClients(pb.ListClientsRequest(query="margaret"))
        assert [c.id for c in listed.clients] == list(reversed(older))
        first = await stub.ListClients(pb.ListClientsRequest(query="margaret", page=types_pb2.PageRequest(page_size=2)))
        assert [c.id for c in first.clients] == [older[2], older[1]] and first.page.next_page_token
        rest = await stub.ListClients(
            pb.ListClientsRequest(
                query="margaret", page=types_pb2.PageRequest(page_size=2, page_token=first.page.next_page_token)
            )
        )
        assert [c.id for c in rest.clients] == [older[0]] and not rest.page.next_page_token


async def test_the_typo_index_follows_name_changes(stub: ClientStubs, db: AsyncEngine) -> None:
    tenant = uuid.uuid4()
    with bind_call_context(staff(tenant)):
        client = await stub.CreateClient(pb.CreateClientRequest(first_name="Beatrice", last_name="Quill"))
        assert await names(stub, "beatrcie") == ["Beatrice Quill"]
        await stub.UpdateClient(pb.UpdateClientRequest(id=client.id, first_name="Rosalind"))
        assert await names(stub, "beatrcie") == []
        assert await names(stub, "rosalnid") == ["Rosalind Quill"]
    async with db.connect() as conn:
        words = {
            r.word
            for r in await conn.execute(
                text("SELECT word FROM client_name_words WHERE tenant_id = :t AND client_id = :c"),
                {"t": tenant, "c": uuid.UUID(client.id)},
            )
        }
        dictionary = {
            r.key
            for r in await conn.execute(text("SELECT key FROM tenant_name_keys WHERE tenant_id = :t"), {"t": tenant})
        }
    assert words == {"rosalind", "quill"}
    assert {"rosalind", "osalind", "^ros", "quill", "^qui"} <= dictionary


async def test_an_erased_clients_rare_words_leave_the_tenants_dictionary(stub: ClientStubs, db: AsyncEngine) -> None:
    tenant = uuid.uuid4()
    with bind_call_context(CallContext(tenant, Principal("staff", str(uuid.uuid4()), "owner"))):
        rare = await stub.CreateClient(pb.CreateClientRequest(first_name="Zebulon", last_name="Smith"))
        await stub.CreateClient(pb.CreateClientRequest(first_name="John", last_name="Smith"))
        await stub.EraseClient(pb.EraseClientRequest(id=rare.id, confirm=True))
        assert await names(stub, "zebulno") == []
    async with db.connect() as conn:
        dictionary = {
            r.word
            for r in await conn.execute(text("SELECT word FROM tenant_name_keys WHERE tenant_id = :t"), {"t": tenant})
        }
    assert dictionary == {"john", "smith"}  # "zebulon" went; "smith" is still someone's
