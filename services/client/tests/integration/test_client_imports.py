"""Client import and export over gRPC, against real PostgreSQL (the background worker runs in the service)."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator, Iterable

import grpc
import pytest
from google.protobuf import json_format, struct_pb2
from openpyxl import Workbook
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from atrium.client.v1 import client_record_pb2 as record_pb
from atrium.client.v1 import client_service_pb2 as pb
from atrium.client.v1 import events_pb2
from atrium.common.v1 import types_pb2
from atrium.common.v1.events_pb2 import EventEnvelope
from client_svc.config import ClientSettings
from platform_core.db import create_engine
from platform_core.grpc.context import CallContext, Principal, bind_call_context
from platform_core.grpc.errors import from_rpc_error
from platform_dev.testing.plugin import wait_until

from .stubs import ClientStubs

CHUNK = 64 * 1024


def owner(tenant: uuid.UUID, role: str = "owner") -> CallContext:
    return CallContext(tenant, Principal("staff", str(uuid.uuid4()), role))


@pytest.fixture
def stub(client_channel: grpc.aio.Channel) -> ClientStubs:
    return ClientStubs(client_channel)


@pytest.fixture
async def db(client_settings: ClientSettings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(client_settings.database_url("client"), pool_size=2, max_overflow=0)
    yield engine
    await engine.dispose()


def csv_bytes(rows: Iterable[Iterable[str]], *, bom: bool = False, delimiter: str = ",") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    for row in rows:
        writer.writerow(row)
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode()


def xlsx_bytes(rows: Iterable[Iterable[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


async def upload(stub: ClientStubs, data: bytes, filename: str = "clients.csv") -> pb.ClientImport:
    job = await stub.CreateClientImport(pb.CreateClientImportRequest(filename=filename))
    for seq, start in enumerate(range(0, len(data), CHUNK)):
        await stub.AppendClientImportChunk(
            pb.AppendClientImportChunkRequest(id=job.id, seq=seq, data=data[start : start + CHUNK])
        )
    return await stub.CompleteClientImportUpload(pb.ClientImportRequest(id=job.id))


async def settled(stub: ClientStubs, job_id: str, timeout: float = 30.0) -> pb.ClientImport:
    async def done() -> pb.ClientImport | None:
        job = await stub.GetClientImport(pb.ClientImportRequest(id=job_id))
        return job if job.status in ("validated", "completed", "failed") else None

    result: pb.ClientImport = await wait_until(done, timeout=timeout, interval=0.05)
    return result


async def dry_run(stub: ClientStubs, job_id: str, **options: object) -> pb.ClientImport:
    await stub.DryRunClientImport(pb.DryRunClientImportRequest(id=job_id, default_region="US", **options))  # type: ignore[arg-type]
    return await settled(stub, job_id)


async def run(stub: ClientStubs, job_id: str, max_clients: int = 0) -> pb.ClientImport:
    await stub.StartClientImport(pb.StartClientImportRequest(id=job_id, max_clients=max_clients))
    return await settled(stub, job_id)


async def import_file(
    stub: ClientStubs, data: bytes, filename: str = "clients.csv", **options: object
) -> pb.ClientImport:
    job = await upload(stub, data, filename)
    checked = await dry_run(stub, job.id, **options)
    assert checked.status == "validated", checked
    return await run(stub, job.id)


async def problems(stub: ClientStubs, job_id: str) -> list[pb.ClientImportRejectedRow]:
    rows: list[pb.ClientImportRejectedRow] = []
    token = ""
    while True:
        page = await stub.ListClientImportProblems(
            pb.ListClientImportProblemsRequest(id=job_id, page=types_pb2.PageRequest(page_size=2, page_token=token))
        )
        rows.extend(page.rows)
        token = page.page.next_page_token
        if not token:
            return rows


async def export(stub: ClientStubs, **filters: object) -> list[list[str]]:
    rows: list[list[str]] = []
    token = ""
    while True:
        page = await stub.ExportClients(
            pb.ListClientsRequest(page=types_pb2.PageRequest(page_size=3, page_token=token), **filters)  # type: ignore[arg-type]
        )
        if not rows:
            rows.append(list(page.columns))
        rows.extend(list(r.cells) for r in page.rows)
        token = page.page.next_page_token
        if not token:
            return rows


async def count(db: AsyncEngine, sql: str, tenant: uuid.UUID) -> int:
    async with db.connect() as conn:
        return int(await conn.scalar(text(sql), {"t": tenant}) or 0)


HEADER = ["Customer ID", "First Name", "Last Name", "E-mail", "Mobile", "Tags", "Status"]


async def test_upload_suggests_a_mapping_from_the_headers(stub: ClientStubs) -> None:
    with bind_call_context(owner(uuid.uuid4())):
        job = await upload(stub, csv_bytes([HEADER, ["1", "Ada", "Lovelace", "ada@example.com", "", "", ""]]))
    assert job.status == "uploaded"
    assert job.format == "csv"
    assert [(c.header, c.suggested_field) for c in job.columns] == [
        ("Customer ID", "external_id"),
        ("First Name", "first_name"),
        ("Last Name", "last_name"),
        ("E-mail", "email"),
        ("Mobile", "phone"),
        ("Tags", "tags"),
        ("Status", "status"),
    ]
    assert {"first_name", "external_id", "opening_balance"} <= {f.key for f in job.fields}


async def test_dry_run_reports_every_problem_and_writes_nothing_then_the_import_writes_the_good_rows(
    stub: ClientStubs, db: AsyncEngine
) -> None:
    tenant = uuid.uuid4()
    data = csv_bytes(
        [
            HEADER,
            ["c1", "Ada", "Lovelace", "ada@example.com", "(212) 555-0142", "vip; Early", "Lead"],
            ["c2", "", "Nobody", "not-an-email", "123", "", "Nonsense"],
            ["c3", "Grace", "Hopper", "grace@example.com", "", "", ""],
        ]
    )
    with bind_call_context(owner(tenant)):
        job = await upload(stub, data)
        checked = await dry_run(stub, job.id)
        assert (checked.status, checked.dry_run, checked.total_rows) == ("validated", True, 3)
        assert (checked.created_rows, checked.rejected_rows) == (2, 1)
        assert await count(db, "SELECT count(*) FROM clients WHERE tenant_id = :t", tenant) == 0
        rejected = await problems(stub, job.id)
        assert [r.row for r in rejected] == [3]
        assert {(p.column, p.message) for p in rejected[0].problems} == {
            ("First Name", "is required"),
            ("E-mail", "An email address must have an @-sign."),
            ("Mobile", "is not a valid phone number"),
            ("Status", "no status 'Nonsense' in this business"),
        }
        assert list(rejected[0].cells) == ["c2", "", "Nobody", "not-an-email", "123", "", "Nonsense"]

        done = await run(stub, job.id)
        assert (done.status, done.dry_run, done.created_rows, done.rejected_rows) == ("completed", False, 2, 1)
        listed = await stub.ListClients(pb.ListClientsRequest())
    by_name = {c.first_name: c for c in listed.clients}
    assert set(by_name) == {"Ada", "Grace"}
    assert by_name["Ada"].phone == "+12125550142"
    assert list(by_name["Ada"].tags) == ["Early", "vip"]
    assert by_name["Ada"].status_label == "Lead"
    assert by_name["Grace"].status_label == "Active"
    assert by_name["Ada"].profile.source == "import"
    outbox = await count(
        db,
        "SELECT count(*) FROM outbox WHERE tenant_id = :t AND subject LIKE '%.client.v1.ClientCreated'",
        tenant,
    )
    assert outbox == 2
    # Only ClientCreated: an imported client's tags and status are part of its creation.
    assert await count(db, "SELECT count(*) FROM outbox WHERE tenant_id = :t", tenant) == 2
    assert await count(db, "SELECT live_clients FROM tenant_client_counts WHERE tenant_id = :t", tenant) == 2


async def test_importing_the_same_file_twice_changes_nothing(stub: ClientStubs, db: AsyncEngine) -> None:
    tenant = uuid.uuid4()
    data = csv_bytes(
        [
            HEADER,
            ["c1", "Ada", "Lovelace", "ada@example.com", "+12125550142", "vip", ""],
            ["c2", "Grace", "Hopper", "", "", "", "Inactive"],
        ]
    )
    with bind_call_context(owner(tenant)):
        first = await import_file(stub, data, duplicates="update")
        assert first.created_rows == 2
        before = {c.id: (c.version, c.updated_at) for c in (await stub.ListClients(pb.ListClientsRequest())).clients}
        events = await count(db, "SELECT count(*) FROM outbox WHERE tenant_id = :t", tenant)
        again = await import_file(stub, data, duplicates="update")
        assert (again.created_rows, again.updated_rows, again.unchanged_rows) == (0, 0, 2)
        after = {c.id: (c.version, c.updated_at) for c in (await stub.ListClients(pb.ListClientsRequest())).clients}
    assert after == before
    assert await count(db, "SELECT count(*) FROM outbox WHERE tenant_id = :t", tenant) == events


async def search(stub: ClientStubs, query: str) -> list[str]:
    found = await stub.ListClients(pb.ListClientsRequest(query=query, default_region="US"))
    return [f"{c.first_name} {c.last_name}" for c in found.clients]


async def test_imported_clients_are_found_by_email_phone_and_misspelt_name(stub: ClientStubs, db: AsyncEngine) -> None:
    tenant = uuid.uuid4()
    data = csv_bytes(
        [
            ["Customer ID", "First name", "Last name", "Email", "Phone"],
            ["r1", "Katherine", "Johnson", "kj@example.com", "(212) 555-0142"],
            ["r2", "Grace", "Hopper", "", ""],
        ]
    )
    with bind_call_context(owner(tenant)):
        await import_file(stub, data)
        assert await search(stub, "kj@example") == ["Katherine Johnson"]
        assert await search(stub, "212 555 0142") == ["Katherine Johnson"]
        assert await search(stub, "Katherin Jonhson") == ["Katherine Johnson"]  # typo-tolerant: its words are indexed
        [ada] = (await stub.ListClients(pb.ListClientsRequest(query="kj@example"))).clients
        assert [(p.value, p.primary) for p in ada.emails] == [("kj@example.com", True)]
        assert [(p.value, p.primary) for p in ada.phones] == [("+12125550142", True)]
        points = await count(db, "SELECT count(*) FROM client_contact_points WHERE tenant_id = :t", tenant)
        assert points == 2

        again = await import_file(stub, data, duplicates="update")
        assert (again.created_rows, again.updated_rows, again.unchanged_rows) == (0, 0, 2)
        assert await count(db, "SELECT count(*) FROM client_contact_points WHERE tenant_id = :t", tenant) == 2


async def test_an_import_changing_an_email_or_phone_moves_the_search_with_it(
    stub: ClientStubs, db: AsyncEngine
) -> None:
    tenant = uuid.uuid4()
    with bind_call_context(owner(tenant)):
        existing = await stub.CreateClient(
            pb.CreateClientRequest(
                first_name="Ada",
                last_name="Byron",
                emails=record_pb.ContactPoints(
                    items=[
                        record_pb.ContactPoint(value="ada@example.com", label="work", primary=True),
                        record_pb.ContactPoint(value="ada@home.example", label="home"),
                    ]
                ),
                phone="+12125550142",
            )
        )
        data = csv_bytes(
            [["id", "email", "phone", "last_name"], [existing.id, "countess@example.com", "+12125550199", "King"]]
        )
        done = await import_file(stub, data, duplicates="update")
        assert done.updated_rows == 1
        client = await stub.GetClient(pb.GetClientRequest(id=existing.id))
        # As an edit by hand: the primary is replaced (keeping its label), the other address stays.
        assert [(p.value, p.label, p.primary) for p in client.emails] == [
            ("countess@example.com", "work", True),
            ("ada@home.example", "home", False),
        ]
        assert (client.email, client.phone) == ("countess@example.com", "+12125550199")
        assert await search(stub, "countess@") == ["Ada King"]
        assert await search(stub, "ada@home") == ["Ada King"]
        assert await search(stub, "ada@example") == []
        assert await search(stub, "+12125550199") == ["Ada King"]
        assert await search(stub, "+12125550142") == []
        assert await search(stub, "Kign") == ["Ada King"]
        assert await search(stub, "Byron") == []

        again = await import_file(stub, data, duplicates="update")
        assert (again.updated_rows, again.unchanged_rows) == (0, 1)
    assert await count(db, "SELECT count(*) FROM client_contact_points WHERE tenant_id = :t", tenant) == 3


async def test_a_row_naming_a_merged_away_client_is_rejected_and_its_email_matches_the_survivor(
    stub: ClientStubs,
) -> None:
    with bind_call_context(owner(uuid.uuid4())):
        survivor = await stub.CreateClient(pb.CreateClientRequest(first_name="Ada", email="ada@example.com"))
        gone = await stub.CreateClient(pb.CreateClientRequest(first_name="Ada L", email="ada@example.com"))
        await stub.MergeClients(pb.MergeClientsRequest(survivor_id=survivor.id, merged_ids=[gone.id]))
        data = csv_bytes([["id", "email", "last_name"], [gone.id, "", "Lovelace"], ["", "ada@example.com", "King"]])
        job = await upload(stub, data)
        checked = await dry_run(stub, job.id, duplicates="update")
        assert (checked.status, checked.updated_rows, checked.rejected_rows) == ("validated", 1, 1)
        [rejected] = await problems(stub, job.id)
        assert [(p.column, p.message) for p in rejected.problems] == [
            ("id", f"the client was merged into client {survivor.id}; update that one")
        ]
        done = await run(stub, job.id)
        assert (done.status, done.updated_rows, done.rejected_rows) == ("completed", 1, 1)
        kept = await stub.GetClient(pb.GetClientRequest(id=survivor.id))
        merged = await stub.GetClient(pb.GetClientRequest(id=gone.id))
    assert kept.last_name == "King"
    assert merged.id == survivor.id  # a merged-away id reads as its survivor, untouched by the file


async def test_update_mode_changes_only_what_the_file_changes_and_records_client_updated(
    stub: ClientStubs, db: AsyncEngine
) -> None:
    tenant = uuid.uuid4()
    with bind_call_context(owner(tenant)):
        existing = await stub.CreateClient(
            pb.CreateClientRequest(first_name="Ada", last_name="Byron", email="ada@example.com")
        )
        data = csv_bytes([["email", "last_name", "city"], ["ADA@example.com", "Lovelace", "London"]])
        done = await import_file(stub, data, duplicates="update")
        assert (done.updated_rows, done.created_rows) == (1, 0)
        client = await stub.GetClient(pb.GetClientRequest(id=existing.id))
    assert (client.first_name, client.last_name, client.profile.address.city) == ("Ada", "Lovelace", "London")
    assert client.version == existing.version + 1
    updated = await count(
        db, "SELECT count(*) FROM outbox WHERE tenant_id = :t AND subject LIKE '%.ClientUpdated'", tenant
    )
    assert updated == 1


@pytest.mark.parametrize(
    ("policy", "created", "skipped", "updated", "clients"),
    [("skip", 0, 1, 0, 1), ("update", 0, 0, 1, 1), ("create", 1, 0, 0, 2)],
)
async def test_duplicate_handling_per_run(
    stub: ClientStubs, policy: str, created: int, skipped: int, updated: int, clients: int
) -> None:
    with bind_call_context(owner(uuid.uuid4())):
        await stub.CreateClient(pb.CreateClientRequest(first_name="Ada", phone="+12125550142"))
        data = csv_bytes([["name", "phone"], ["Ada King", "(212) 555-0142"]])
        done = await import_file(stub, data, duplicates=policy)
        listed = await stub.ListClients(pb.ListClientsRequest())
    assert (done.created_rows, done.skipped_rows, done.updated_rows) == (created, skipped, updated)
    assert len(listed.clients) == clients


async def test_all_or_nothing_with_one_bad_row_writes_nothing(stub: ClientStubs, db: AsyncEngine) -> None:
    tenant = uuid.uuid4()
    good = [["Ada", "ada@example.com"], ["Grace", "grace@example.com"]]
    with bind_call_context(owner(tenant)):
        job = await upload(stub, csv_bytes([["first_name", "email"], *good, ["", "x"]]))
        checked = await dry_run(stub, job.id, all_or_nothing=True)
        assert checked.rejected_rows == 1
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.StartClientImport(pb.StartClientImportRequest(id=job.id))
        assert from_rpc_error(refused.value).reason == "IMPORT_HAS_PROBLEMS"

        # A row that goes bad between the dry run and the import (its email taken meanwhile, "update" mode,
        # and a second row claiming the same client) fails the whole import at run time.
        job = await upload(stub, csv_bytes([["first_name", "email", "phone"], *good, ["Ada", "", "+12125550199"]]))
        checked = await dry_run(stub, job.id, all_or_nothing=True, duplicates="update")
        assert (checked.rejected_rows, checked.created_rows) == (0, 3)
        await stub.CreateClient(
            pb.CreateClientRequest(first_name="Taken", phone="+12125550199", email="grace@example.com")
        )
        done = await run(stub, job.id)
        assert done.status == "failed"
        assert done.error_code == "IMPORT_REJECTED"
        assert (done.created_rows, done.updated_rows, done.rejected_rows) == (0, 0, 1)
    assert await count(db, "SELECT count(*) FROM clients WHERE tenant_id = :t", tenant) == 1
    assert await count(db, "SELECT count(*) FROM outbox WHERE tenant_id = :t", tenant) == 1


async def test_the_plan_limit_holds_on_import(stub: ClientStubs, db: AsyncEngine) -> None:
    tenant = uuid.uuid4()
    with bind_call_context(owner(tenant)):
        await stub.CreateClient(pb.CreateClientRequest(first_name="Existing", max_clients=2))
        job = await upload(stub, csv_bytes([["first_name"], ["A"], ["B"]]))
        await stub.DryRunClientImport(pb.DryRunClientImportRequest(id=job.id, max_clients=2))
        checked = await settled(stub, job.id)
        assert checked.error_code == "PLAN_CLIENT_LIMIT"
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.StartClientImport(pb.StartClientImportRequest(id=job.id, max_clients=2))
    error = from_rpc_error(refused.value)
    assert (error.code, error.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "PLAN_CLIENT_LIMIT")
    assert "2 active clients" in error.message
    assert await count(db, "SELECT count(*) FROM clients WHERE tenant_id = :t", tenant) == 1


async def test_xlsx_is_read_with_typed_cells(stub: ClientStubs) -> None:
    from datetime import date

    data = xlsx_bytes(
        [
            ["First name", "Phone", "Date of birth", "Opening balance", "Currency"],
            ["Ada", 2125550142, date(1990, 4, 23), 120.5, "USD"],
            [None, None, None, None, None],
            ["Grace", None, None, None, None],
        ]
    )
    with bind_call_context(owner(uuid.uuid4())):
        done = await import_file(stub, data, filename="people.xlsx")
        assert (done.format, done.status, done.created_rows, done.total_rows) == ("xlsx", "completed", 2, 2)
        listed = await stub.ListClients(pb.ListClientsRequest())
    ada = next(c for c in listed.clients if c.first_name == "Ada")
    assert ada.phone == "+12125550142"
    assert ada.profile.date_of_birth == "1990-04-23"
    assert (ada.profile.opening_balance.amount_minor, ada.profile.opening_balance.currency) == (12050, "USD")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"first_name,email\r\nAda,ada@example.com\r\nJos\xe9,jose@example.com\r\n", "line 3 is not UTF-8"),
        (b'first_name,email\r\n"Ada"x,ada@example.com\r\n', "line 2: broken quoting"),
        (b'first_name,email\r\n"Ada,ada@example.com\r\nGrace,g@example.com\r\n', "never closed"),
        (b"first_name,notes\r\nAda," + b"x" * 40_000 + b"\r\n", "more than 32,767 characters"),
    ],
)
async def test_a_bad_file_fails_with_a_clear_error_and_writes_nothing(
    stub: ClientStubs, db: AsyncEngine, data: bytes, message: str
) -> None:
    tenant = uuid.uuid4()
    with bind_call_context(owner(tenant)):
        job = await upload(stub, data)
        checked = await dry_run(stub, job.id)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.StartClientImport(pb.StartClientImportRequest(id=job.id))
    assert checked.status == "failed"
    assert checked.error_code == "BAD_FILE"
    assert message in checked.error
    assert from_rpc_error(refused.value).reason == "IMPORT_NOT_VALIDATED"
    assert await count(db, "SELECT count(*) FROM clients WHERE tenant_id = :t", tenant) == 0


async def test_a_file_that_cannot_be_read_at_all_is_refused_at_upload(stub: ClientStubs) -> None:
    with bind_call_context(owner(uuid.uuid4())), pytest.raises(grpc.aio.AioRpcError) as refused:
        await upload(stub, b"\xd0\xcf\x11\xe0 old excel", "clients.xls")
    error = from_rpc_error(refused.value)
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.violations[0].field == "file"
    assert ".xls" in error.violations[0].message


async def test_missing_required_columns_are_refused_before_any_row_is_read(stub: ClientStubs) -> None:
    with bind_call_context(owner(uuid.uuid4())):
        job = await upload(stub, csv_bytes([["email", "phone"], ["ada@example.com", ""]]))
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.DryRunClientImport(pb.DryRunClientImportRequest(id=job.id))
    error = from_rpc_error(refused.value)
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "missing required column" in error.violations[0].message


async def test_export_writes_the_columns_the_import_reads_and_round_trips(stub: ClientStubs) -> None:
    with bind_call_context(owner(uuid.uuid4())):
        await stub.CreateClient(
            pb.CreateClientRequest(
                first_name="Ada",
                last_name="Lovelace",
                email="ada@example.com",
                phone="+442071838750",
                emails=record_pb.ContactPoints(
                    items=[
                        record_pb.ContactPoint(value="ada@example.com", primary=True),
                        record_pb.ContactPoint(value="countess@work.example", label="work"),
                    ]
                ),
                profile=pb.ClientProfile(
                    address=pb.PostalAddress(city="London", country="GB"), date_of_birth="1985-12-10"
                ),
            )
        )
        await stub.CreateClient(pb.CreateClientRequest(first_name="Grace", last_name="Hopper"))
        await stub.CreateClient(pb.CreateClientRequest(first_name="Alan", last_name="Turing"))
        exported = await export(stub)
        assert exported[0][:3] == ["id", "external_id", "first_name"]
        assert len(exported) == 4
        searched = await export(stub, query="ada")
        assert [r[2] for r in searched[1:]] == ["Ada"]

        ada = next(r for r in exported[1:] if r[2] == "Ada")
        assert ada[exported[0].index("other_emails")] == "countess@work.example (work)"

        done = await import_file(stub, csv_bytes(exported), duplicates="update")
        assert (done.unchanged_rows, done.created_rows, done.updated_rows) == (3, 0, 0)
        assert await export(stub) == exported

    with bind_call_context(owner(uuid.uuid4())):  # another business takes the file in
        done = await import_file(stub, csv_bytes([exported[0][1:], *(r[1:] for r in exported[1:])]))
        assert done.created_rows == 3
        [copy] = (await stub.ListClients(pb.ListClientsRequest(query="countess@"))).clients
        assert [(e.value, e.label, e.primary) for e in copy.emails] == [
            ("ada@example.com", "other", True),
            ("countess@work.example", "work", False),
        ]


async def test_bulk_import_and_export_need_an_owner_or_admin(stub: ClientStubs) -> None:
    with bind_call_context(owner(uuid.uuid4(), role="staff")):
        for call in (
            stub.CreateClientImport(pb.CreateClientImportRequest(filename="x.csv")),
            stub.ExportClients(pb.ListClientsRequest()),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await call
            assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_an_import_is_another_tenants_secret(stub: ClientStubs) -> None:
    with bind_call_context(owner(uuid.uuid4())):
        job = await upload(stub, csv_bytes([["first_name"], ["Ada"]]))
    with bind_call_context(owner(uuid.uuid4())), pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.GetClientImport(pb.ClientImportRequest(id=job.id))
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize("all_or_nothing", [False, True])
async def test_a_row_the_database_refuses_is_rejected_alone(
    stub: ClientStubs, db: AsyncEngine, all_or_nothing: bool
) -> None:
    # A language tag the client rules accept but longer than the column's limit: the dry run cannot see it.
    too_long = "en-abcdefgh-abcdefgh-abcdefgh-abcdefgh"
    tenant = uuid.uuid4()
    data = csv_bytes([["first_name", "Language"], ["Ada", "en"], ["Grace", too_long], ["Alan", ""]])
    with bind_call_context(owner(tenant)):
        done = await import_file(stub, data, all_or_nothing=all_or_nothing)
        rejected = await problems(stub, done.id)
    assert [(r.row, [(p.column, p.message) for p in r.problems]) for r in rejected] == [
        (3, [("Language", "refused by the database (clients_preferred_language_check)")])
    ]
    clients = await count(db, "SELECT count(*) FROM clients WHERE tenant_id = :t", tenant)
    events = await count(db, "SELECT count(*) FROM outbox WHERE tenant_id = :t", tenant)
    if all_or_nothing:
        assert (done.status, done.error_code, clients, events) == ("failed", "IMPORT_REJECTED", 0, 0)
    else:
        assert (done.status, done.created_rows, done.rejected_rows, clients, events) == ("completed", 2, 1, 2, 2)


def custom(values: dict[str, object]) -> dict[str, struct_pb2.Value]:
    return {k: json_format.ParseDict(v, struct_pb2.Value()) for k, v in values.items()}


def plain(values: dict[str, struct_pb2.Value]) -> dict[str, object]:
    return {k: json_format.MessageToDict(v) for k, v in values.items()}


async def test_custom_fields_are_columns_of_the_export_and_the_import(stub: ClientStubs, db: AsyncEngine) -> None:
    tenant = uuid.uuid4()
    with bind_call_context(owner(tenant)):
        for label, kind, options in (
            ("Shoe size", "number", []),
            ("Sports", "multiple_choice", ["Yoga", "Pilates"]),
            ("Member since", "date", []),
            ("Emergency phone", "phone", []),
        ):
            await stub.CreateCustomField(record_pb.CreateCustomFieldRequest(label=label, type=kind, options=options))
        retired = await stub.CreateCustomField(record_pb.CreateCustomFieldRequest(label="Old code", type="text"))
        ada = await stub.CreateClient(
            pb.CreateClientRequest(
                first_name="Ada",
                custom_fields=custom({"shoe_size": 38, "sports": ["Pilates", "Yoga"], "old_code": "X1"}),
            )
        )
        await stub.CreateClient(pb.CreateClientRequest(first_name="Grace"))
        await stub.RetireCustomField(record_pb.RetireCustomFieldRequest(id=retired.id))

        exported = await export(stub)
        header = exported[0]
        assert header[-4:] == ["custom:shoe_size", "custom:sports", "custom:member_since", "custom:emergency_phone"]
        by_name = {r[header.index("first_name")]: dict(zip(header, r, strict=True)) for r in exported[1:]}
        assert (by_name["Ada"]["custom:shoe_size"], by_name["Ada"]["custom:sports"]) == ("38", "Yoga; Pilates")
        assert by_name["Grace"]["custom:shoe_size"] == ""

        # The file as exported imports back unchanged.
        again = await import_file(stub, csv_bytes(exported), duplicates="update")
        assert (again.unchanged_rows, again.updated_rows, again.created_rows) == (2, 0, 0)
        assert await export(stub) == exported

        # Changed cells change the values (a national phone is read in the import's region); a new row gets its own.
        size, sports, since, phone = (
            header.index(f"custom:{k}") for k in ("shoe_size", "sports", "member_since", "emergency_phone")
        )
        edited = [list(r) for r in exported]
        ada_row = next(r for r in edited if r[0] == ada.id)
        ada_row[size], ada_row[sports], ada_row[since], ada_row[phone] = "39.5", "yoga", "2020-01-31", "(212) 555-0142"
        new_row = [""] * len(header)
        new_row[header.index("first_name")], new_row[size] = "Alan", "44"
        done = await import_file(stub, csv_bytes([*edited, new_row]), duplicates="update")
        assert (done.updated_rows, done.created_rows, done.unchanged_rows) == (1, 1, 1)
        client = await stub.GetClient(pb.GetClientRequest(id=ada.id))
        # Only custom values changed: a ClientUpdated says so, as an edit by hand would.
        assert client.version == ada.version + 1
        assert await ada_updates(db, tenant, ada.id) == [["custom_fields"]]
        assert plain(client.custom_fields) == {
            "shoe_size": 39.5,
            "sports": ["Yoga"],
            "member_since": "2020-01-31",
            "emergency_phone": "+12125550142",
            "old_code": "X1",  # a retired field's value stays (it is no column)
        }
        alan = next(c for c in (await stub.ListClients(pb.ListClientsRequest(query="Alan"))).clients)
        assert plain(alan.custom_fields) == {"shoe_size": 44}
    values = await count(db, "SELECT count(*) FROM client_custom_values WHERE tenant_id = :t", tenant)
    assert values == 6


async def ada_updates(db: AsyncEngine, tenant: uuid.UUID, client_id: str) -> list[list[str]]:
    """The changed fields of each ClientUpdated of this client in the outbox, oldest first."""
    async with db.connect() as conn:
        rows = await conn.execute(
            text("SELECT envelope FROM outbox WHERE tenant_id = :t AND subject LIKE '%.ClientUpdated' ORDER BY id"),
            {"t": tenant},
        )
        updates = []
        for (raw,) in rows:
            payload = events_pb2.ClientUpdated()
            EventEnvelope.FromString(raw).payload.Unpack(payload)
            if payload.client_id == client_id:
                updates.append(list(payload.changed_fields))
        return updates


async def test_a_bad_custom_value_is_a_problem_of_its_column(stub: ClientStubs, db: AsyncEngine) -> None:
    tenant = uuid.uuid4()
    with bind_call_context(owner(tenant)):
        await stub.CreateCustomField(record_pb.CreateCustomFieldRequest(label="Shoe size", type="number"))
        await stub.CreateCustomField(
            record_pb.CreateCustomFieldRequest(label="Sports", type="single_choice", options=["Yoga", "Pilates"])
        )
        data = csv_bytes([["Name", "Shoe Size", "Sports"], ["Ada", "huge", "Golf"], ["Grace", "37", "yoga"]])
        job = await upload(stub, data)
        assert [c.suggested_field for c in job.columns] == ["full_name", "custom:shoe_size", "custom:sports"]
        assert {"custom:shoe_size", "custom:sports"} <= {f.key for f in job.fields}
        checked = await dry_run(stub, job.id)
        assert (checked.created_rows, checked.rejected_rows) == (1, 1)
        [rejected] = await problems(stub, job.id)
        assert (rejected.row, [(p.column, p.message) for p in rejected.problems]) == (
            2,
            [("Shoe Size", "must be a number"), ("Sports", "must be one of: Yoga, Pilates")],
        )
        done = await run(stub, job.id)
        assert (done.created_rows, done.rejected_rows) == (1, 1)
        [grace] = (await stub.ListClients(pb.ListClientsRequest())).clients
    assert plain(grace.custom_fields) == {"shoe_size": 37, "sports": "Yoga"}
    assert await count(db, "SELECT count(*) FROM client_custom_values WHERE tenant_id = :t", tenant) == 2


async def test_a_required_custom_field_is_required_of_every_new_client(stub: ClientStubs) -> None:
    with bind_call_context(owner(uuid.uuid4())):
        await stub.CreateCustomField(
            record_pb.CreateCustomFieldRequest(label="Loyalty code", type="text", required=True, forms=["staff"])
        )
        without = await upload(stub, csv_bytes([["Name"], ["Ada"]]))
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await dry_run(stub, without.id)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "custom:loyalty_code (Loyalty code)" in refused.value.details()
        job = await upload(stub, csv_bytes([["Name", "Loyalty code"], ["Ada", "M-1"], ["Grace", ""]]))
        checked = await dry_run(stub, job.id)
        assert (checked.created_rows, checked.rejected_rows) == (1, 1)
        [rejected] = await problems(stub, job.id)
        assert [(p.column, p.message) for p in rejected.problems] == [("Loyalty code", "is required for a new client")]
