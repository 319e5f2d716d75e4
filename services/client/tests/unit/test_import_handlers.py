"""The client import's use cases (service_layer/import_handlers.py) through the fake import unit of work: the
upload, a dry run judging rows, and imports batched and all-or-nothing, without a database."""

import uuid

import pytest

from client_svc.adapters.import_store import Counts, Problems
from client_svc.domain import commands_imports as cmds
from client_svc.domain import events
from client_svc.domain.imports import JobRow
from client_svc.service_layer import import_handlers as handlers
from platform_core.errors import FailedPrecondition, InvalidArgument, NotFound

from .fakes import IMPORT_NOW, FakeImportUnitOfWork

TENANT = uuid.uuid4()
OWNER = "replica-1"


def csv(*rows: str) -> bytes:
    return "".join(f"{row}\r\n" for row in rows).encode()


async def uploaded(uow: FakeImportUnitOfWork, *chunks: bytes) -> uuid.UUID:
    created = await handlers.create_import(cmds.CreateImport(TENANT, "staff-1", " clients .csv ", now=IMPORT_NOW), uow)
    import_id: uuid.UUID = created.job["id"]
    for seq, data in enumerate(chunks):
        await handlers.append_import_chunk(cmds.AppendImportChunk(TENANT, import_id, seq, data), uow)
    await handlers.finish_import_upload(cmds.FinishImportUpload(TENANT, import_id), uow)
    return import_id


async def run_claimed(uow: FakeImportUnitOfWork) -> None:
    """What a worker does: claim the queued job and run it."""
    job = await handlers.claim_import(cmds.ClaimImport(OWNER), uow)
    assert job is not None
    await handlers.run_import(cmds.RunImport(job, OWNER), uow)


async def job_of(uow: FakeImportUnitOfWork, import_id: uuid.UUID) -> handlers.JobView:
    return await handlers.get_import(cmds.GetImport(TENANT, import_id), uow)


async def test_an_upload_in_chunks_reads_the_header_and_suggests_a_mapping() -> None:
    uow = FakeImportUnitOfWork()
    created = await handlers.create_import(cmds.CreateImport(TENANT, "staff-1", " clients .csv ", now=IMPORT_NOW), uow)
    import_id = created.job["id"]
    assert (created.job["status"], created.job["filename"], created.job["created_at"]) == (
        "uploading",
        "clients .csv",
        IMPORT_NOW,
    )
    first, second = b"First name,E-mail\r\nAda,ada@", b"example.com\r\n"
    await handlers.append_import_chunk(cmds.AppendImportChunk(TENANT, import_id, 0, first), uow)
    with pytest.raises(FailedPrecondition) as out_of_order:
        await handlers.append_import_chunk(cmds.AppendImportChunk(TENANT, import_id, 2, second), uow)
    assert out_of_order.value.reason == "IMPORT_CHUNK_OUT_OF_ORDER"
    appended = await handlers.append_import_chunk(cmds.AppendImportChunk(TENANT, import_id, 1, second), uow)
    assert appended["file_bytes"] == len(first + second)

    view = await handlers.finish_import_upload(cmds.FinishImportUpload(TENANT, import_id), uow)
    assert (view.job["status"], list(view.job["columns"])) == ("uploaded", ["First name", "E-mail"])
    assert view.suggested == ["first_name", "email"]
    with pytest.raises(FailedPrecondition):  # the file is complete: no more chunks
        await handlers.append_import_chunk(cmds.AppendImportChunk(TENANT, import_id, 2, b"x"), uow)
    with pytest.raises(NotFound):  # another tenant's import is nobody's
        await handlers.get_import(cmds.GetImport(uuid.uuid4(), import_id), uow)


async def test_an_empty_chunk_and_an_empty_file_are_refused() -> None:
    uow = FakeImportUnitOfWork()
    created = await handlers.create_import(cmds.CreateImport(TENANT, "staff-1", "c.csv", now=IMPORT_NOW), uow)
    with pytest.raises(InvalidArgument):
        await handlers.append_import_chunk(cmds.AppendImportChunk(TENANT, created.job["id"], 0, b""), uow)
    with pytest.raises(InvalidArgument):
        await handlers.finish_import_upload(cmds.FinishImportUpload(TENANT, created.job["id"]), uow)


async def test_a_dry_run_judges_every_row_and_writes_no_client() -> None:
    uow = FakeImportUnitOfWork()
    import_id = await uploaded(
        uow, csv("first_name,email", "Ada,ada@example.com", "Grace,not-an-email", "Linus,linus@example.com")
    )
    queued = await handlers.dry_run_import(
        cmds.DryRunImport(TENANT, import_id, None, "skip", False, "GB", max_clients=0), uow
    )
    assert (queued.job["status"], uow.queued_jobs) == ("validating", 1)

    await run_claimed(uow)
    job = (await job_of(uow, import_id)).job
    assert (job["status"], job["total_rows"], job["created_rows"], job["rejected_rows"]) == ("validated", 3, 2, 1)
    _, [problem] = await handlers.list_import_problems(cmds.ListImportProblems(TENANT, import_id, 0, 10), uow)
    assert (problem["row_number"], problem["cells"]) == (3, ["Grace", "not-an-email"])
    assert [p["column"] for p in problem["problems"]] == ["email"]
    assert (uow.store.state.clients, uow.store.state.events) == ({}, [])


async def test_an_import_writes_its_clients_and_their_events_in_batches() -> None:
    uow = FakeImportUnitOfWork()  # two rows a batch
    import_id = await uploaded(
        uow, csv("external_id,first_name,email", "e1,Ada,ada@example.com", "e2,Grace,", "e3,Linus,l@example.com")
    )
    await handlers.dry_run_import(cmds.DryRunImport(TENANT, import_id, None, "update", False, "GB", 0), uow)
    await run_claimed(uow)
    started = await handlers.start_import(cmds.StartImport(TENANT, import_id, max_clients=10), uow)
    assert started.job["status"] == "running"

    await run_claimed(uow)
    job = (await job_of(uow, import_id)).job
    assert (job["status"], job["created_rows"], job["rejected_rows"]) == ("completed", 3, 0)
    written = sorted((external_id, c.first_name, c.created_at) for c, external_id in uow.store.state.clients.values())
    assert written == [("e1", "Ada", IMPORT_NOW), ("e2", "Grace", IMPORT_NOW), ("e3", "Linus", IMPORT_NOW)]
    assert [type(e) for e in uow.store.state.events] == [events.ClientCreated] * 3
    assert uow.store.state.live[TENANT] == 3
    assert await handlers.claim_import(cmds.ClaimImport(OWNER), uow) is None  # nothing left to run

    # The same file again updates by external id and changes nothing.
    again = await uploaded(
        uow, csv("external_id,first_name,email", "e1,Ada,ada@example.com", "e2,Grace,", "e3,Linus,l@example.com")
    )
    await handlers.dry_run_import(cmds.DryRunImport(TENANT, again, None, "update", False, "GB", 0), uow)
    await run_claimed(uow)
    await handlers.start_import(cmds.StartImport(TENANT, again, max_clients=0), uow)
    await run_claimed(uow)
    job = (await job_of(uow, again)).job
    assert (job["status"], job["created_rows"], job["unchanged_rows"]) == ("completed", 0, 3)
    assert len(uow.store.state.clients) == 3
    assert len(uow.store.state.events) == 3


async def test_an_import_refreshes_the_statistics_after_its_first_batch_and_each_time_it_doubles_them() -> None:
    """The plans the database keeps (a foreign key's check most of all) are made on the statistics: stale while an
    import grows the tenant, they are refreshed outside its transactions, a handful of times however big the file."""
    uow = FakeImportUnitOfWork()  # two rows a batch
    rows = [f"e{i},Client {i}" for i in range(9)]
    import_id = await uploaded(uow, csv("external_id,first_name", *rows))
    await handlers.dry_run_import(cmds.DryRunImport(TENANT, import_id, None, "update", False, "GB", 0), uow)
    await run_claimed(uow)
    assert uow.store.state.analyses == []  # a dry run writes nothing
    await handlers.start_import(cmds.StartImport(TENANT, import_id, max_clients=0), uow)
    await run_claimed(uow)
    assert (await job_of(uow, import_id)).job["created_rows"] == 9
    # Batches of 2, 2, 2, 2 and 1 new clients: after the first (2 counted), then once as many again (4, 8).
    assert uow.store.state.analyses == [2, 4, 8]

    # The same file again creates nothing: nothing grew, nothing to refresh.
    again = await uploaded(uow, csv("external_id,first_name", *rows))
    await handlers.dry_run_import(cmds.DryRunImport(TENANT, again, None, "update", False, "GB", 0), uow)
    await run_claimed(uow)
    await handlers.start_import(cmds.StartImport(TENANT, again, max_clients=0), uow)
    await run_claimed(uow)
    assert (await job_of(uow, again)).job["unchanged_rows"] == 9
    assert uow.store.state.analyses == [2, 4, 8]


async def test_an_all_or_nothing_import_with_a_bad_row_cannot_start() -> None:
    uow = FakeImportUnitOfWork()
    import_id = await uploaded(uow, csv("first_name,email", "Ada,ada@example.com", "Grace,bad"))
    await handlers.dry_run_import(cmds.DryRunImport(TENANT, import_id, None, "skip", True, "GB", 0), uow)
    await run_claimed(uow)
    with pytest.raises(FailedPrecondition) as refused:
        await handlers.start_import(cmds.StartImport(TENANT, import_id, max_clients=0), uow)
    assert refused.value.reason == "IMPORT_HAS_PROBLEMS"
    assert uow.store.state.clients == {}


async def test_a_running_import_cannot_be_deleted_and_a_finished_one_can() -> None:
    uow = FakeImportUnitOfWork()
    import_id = await uploaded(uow, csv("first_name", "Ada"))
    await handlers.dry_run_import(cmds.DryRunImport(TENANT, import_id, None, "skip", False, "GB", 0), uow)
    with pytest.raises(FailedPrecondition):
        await handlers.delete_import(cmds.DeleteImport(TENANT, import_id), uow)
    await run_claimed(uow)
    await handlers.delete_import(cmds.DeleteImport(TENANT, import_id), uow)
    with pytest.raises(NotFound):
        await handlers.delete_import(cmds.DeleteImport(TENANT, import_id), uow)


async def test_an_all_or_nothing_import_writes_the_whole_file_at_once() -> None:
    uow = FakeImportUnitOfWork()
    import_id = await uploaded(uow, csv("first_name", "Ada", "Grace", "Linus"))
    await handlers.dry_run_import(cmds.DryRunImport(TENANT, import_id, None, "skip", True, "GB", 0), uow)
    await run_claimed(uow)
    await handlers.start_import(cmds.StartImport(TENANT, import_id, max_clients=0), uow)
    await run_claimed(uow)
    job = (await job_of(uow, import_id)).job
    assert (job["status"], job["created_rows"], job["total_rows"]) == ("completed", 3, 3)
    assert sorted(c.first_name for c, _ in uow.store.state.clients.values()) == ["Ada", "Grace", "Linus"]
    assert uow.store.state.live[TENANT] == 3


async def test_a_run_that_loses_its_lease_keeps_only_the_batches_committed_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    uow = FakeImportUnitOfWork()  # two rows a batch
    import_id = await uploaded(uow, csv("first_name", "Ada", "Grace", "Linus"))
    await handlers.dry_run_import(cmds.DryRunImport(TENANT, import_id, None, "skip", False, "GB", 0), uow)
    await run_claimed(uow)
    await handlers.start_import(cmds.StartImport(TENANT, import_id, max_clients=0), uow)
    job = await handlers.claim_import(cmds.ClaimImport(OWNER), uow)
    assert job is not None
    record = uow.store.record_batch

    async def taken_over_after_the_first_batch(job: JobRow, owner: str, counts: Counts, problems: Problems) -> bool:
        if counts.processed > 2:  # the second batch: another replica took the job over meanwhile
            uow.store.leases[(TENANT, import_id)] = "replica-2"
        return bool(await record(job, owner, counts, problems))

    monkeypatch.setattr(uow.store, "record_batch", taken_over_after_the_first_batch)
    await handlers.run_import(cmds.RunImport(job, OWNER), uow)  # stops quietly: another replica has it
    assert sorted(c.first_name for c, _ in uow.store.state.clients.values()) == ["Ada", "Grace"]
    assert len(uow.store.state.events) == 2
    left = await handlers.get_import(cmds.GetImport(TENANT, import_id), uow)
    assert (left.job["status"], left.job["processed_rows"], left.job["lease_owner"]) == ("running", 2, "replica-2")
