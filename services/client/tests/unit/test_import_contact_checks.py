"""An import whose emails and phones are checked by worker processes reads a file exactly as one that checks
them row by row in its own process: the same clients, events, counts and problems, word for word."""

import uuid
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from client_svc.adapters import contact_checks
from client_svc.adapters.contact_checks import (
    AbstractContactChecks,
    ContactResults,
    InlineContactChecks,
    Phone,
    ProcessPoolContactChecks,
)
from client_svc.adapters.import_store import AbstractColumnExtension
from client_svc.domain import commands_imports as cmds
from client_svc.domain import contact
from client_svc.domain.imports import ExtraColumn
from client_svc.service_layer import import_handlers as handlers
from client_svc.service_layer.import_unit_of_work import ImportSettings

from .fakes import IMPORT_NOW, FakeImportUnitOfWork

TENANT = uuid.uuid4()
OWNER = "replica-1"
HEADER = "external_id,first_name,last_name,email,phone,other_phones,custom:shoe_size"


class ShoeSizes(AbstractColumnExtension):
    """A custom field column, its values kept in memory."""

    def __init__(self) -> None:
        self.values: dict[uuid.UUID, dict[str, Any]] = {}

    async def columns(self, tenant_id: uuid.UUID) -> Sequence[ExtraColumn]:
        return [ExtraColumn("custom:shoe_size", "Shoe size", parse=_shoe_size, format=str)]

    async def load(self, tenant_id: uuid.UUID, client_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
        return {c: dict(self.values[c]) for c in client_ids if c in self.values}

    async def save(self, tenant_id: uuid.UUID, values: dict[uuid.UUID, dict[str, Any]]) -> None:
        for client_id, found in values.items():
            self.values.setdefault(client_id, {}).update(found)


def _shoe_size(cell: str) -> int:
    if not cell.isdigit() or not 15 <= int(cell) <= 60:
        raise ValueError("must be a size from 15 to 60")
    return int(cell)


def seed_file() -> bytes:
    """Clients already there: some rows of the mixed file are about them."""
    rows = [f"old-{i},Old,Client {i},old{i}@example.com,+44 20 7946 {i:04d},,40" for i in range(0, 40)]
    return "\r\n".join([HEADER, *rows, ""]).encode()


def mixed_file() -> bytes:
    rows = []
    for i in range(400):
        email, phone, size, external = f"new{i}@example.com", f"020 7946 {1000 + i:04d}", "42", f"new-{i}"
        other = ""
        match i % 10:
            case 1:
                email = f"not-an-email-{i}"  # a bad email
            case 2:
                phone = f"12{i}"  # a bad phone
            case 3:
                email = f"new{i - 3}@EXAMPLE.com"  # the same email as an earlier row, in another case
            case 4:
                email, external = f"old{i % 40}@example.com", ""  # an existing client's email
            case 5:
                phone, external = f"+44 20 7946 {i % 40:04d}", ""  # an existing client's phone
            case 6:
                size = "99"  # a bad custom value
            case 7:
                other = f"+1 212 555 {i:04d} (home); 020 7946 {2000 + i:04d}"  # secondary phones
            case 8:
                external = f"old-{i % 40}"  # an existing client's external id
            case 9:
                email, phone = f"{' ' * (i % 3)}new{i}@example.com ", f"+44 (0)20 7946 {1000 + i:04d}"
        rows.append(f'{external},New,Client {i},{email},{phone},"{other}",{size}')
    return "\r\n".join([HEADER, *rows, ""]).encode()


async def import_file(uow: FakeImportUnitOfWork, data: bytes, duplicates: str) -> dict[str, Any]:
    created = await handlers.create_import(cmds.CreateImport(TENANT, "staff-1", "clients.csv", now=IMPORT_NOW), uow)
    import_id = created.job["id"]
    await handlers.append_import_chunk(cmds.AppendImportChunk(TENANT, import_id, 0, data), uow)
    await handlers.finish_import_upload(cmds.FinishImportUpload(TENANT, import_id), uow)
    await handlers.dry_run_import(cmds.DryRunImport(TENANT, import_id, None, duplicates, False, "GB", 0), uow)
    await run_claimed(uow)
    dry = (await handlers.get_import(cmds.GetImport(TENANT, import_id), uow)).job
    await handlers.start_import(cmds.StartImport(TENANT, import_id, max_clients=0), uow)
    await run_claimed(uow)
    job = (await handlers.get_import(cmds.GetImport(TENANT, import_id), uow)).job
    _, problems = await handlers.list_import_problems(cmds.ListImportProblems(TENANT, import_id, 0, 1000), uow)
    counts = ("status", "processed_rows", "created_rows", "updated_rows", "unchanged_rows", "skipped_rows")
    return {
        "dry run": {k: dry[k] for k in (*counts, "rejected_rows")},
        "import": {k: job[k] for k in (*counts, "rejected_rows")},
        "problems": [(p["row_number"], p["cells"], p["problems"]) for p in problems],
    }


async def run_claimed(uow: FakeImportUnitOfWork) -> None:
    job = await handlers.claim_import(cmds.ClaimImport(OWNER), uow)
    assert job is not None
    await handlers.run_import(cmds.RunImport(job, OWNER), uow)


def written(uow: FakeImportUnitOfWork, shoes: ShoeSizes) -> list[Any]:
    """The clients and events, without what is new on every run (ids)."""
    clients = sorted(
        (
            external_id or "",
            c.first_name,
            c.last_name,
            c.email or "",
            c.phone or "",
            sorted((p.kind, p.value, p.label, p.is_primary, p.position) for p in c.contact_points),
            c.version,
            sorted(shoes.values.get(c.id, {}).items()),
        )
        for c, external_id in uow.store.state.clients.values()
    )
    by_id = {c.id: (c.last_name, c.email or "") for c, _ in uow.store.state.clients.values()}
    happened = sorted(
        (type(e).__name__, by_id[e.client_id], repr({k: v for k, v in vars(e).items() if k != "client_id"}))
        for e in uow.store.state.events
    )
    return [clients, happened]


class CountedChecks(AbstractContactChecks):
    """The worker pool, counting the values its workers checked."""

    def __init__(self, pool: ProcessPoolContactChecks) -> None:
        self.pool = pool
        self.checked = 0

    async def check(self, emails: Sequence[str], phones: Sequence[Phone]) -> ContactResults:
        results = await self.pool.check(emails, phones)
        self.checked += sum(len(e) + len(p) for e, _, p, _ in results.parts)
        return results

    def close(self) -> None:
        self.pool.close()


def fresh_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """This process knows no checked value yet (nothing learned, nothing memoized); returns the list of the
    values it goes on to check itself."""
    checked_here: list[str] = []

    def counted(check: Callable[..., str]) -> Callable[..., str]:
        def run(*key: Any) -> str:
            checked_here.append(key[0])
            return check(*key)

        return run

    monkeypatch.setattr(contact, "_EMAILS", contact._Results(counted(contact._email), 20_000))
    monkeypatch.setattr(contact, "_PHONES", contact._Results(counted(contact._phone), 20_000))
    return checked_here


async def imported_both_files(
    checks: AbstractContactChecks, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, Any], list[Any], list[str]]:
    shoes = ShoeSizes()
    uow = FakeImportUnitOfWork(settings=ImportSettings(batch_rows=64), extensions=[shoes])
    uow.contact_checks = checks
    fresh_checks(monkeypatch)
    seeded = await import_file(uow, seed_file(), "skip")
    assert seeded["import"]["created_rows"] == 40
    checked_here = fresh_checks(monkeypatch)
    result = await import_file(uow, mixed_file(), "update")
    return result, written(uow, shoes), checked_here


async def test_the_parallel_checks_read_a_mixed_file_exactly_as_the_serial_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pool = CountedChecks(ProcessPoolContactChecks(2, min_values=0))
    try:
        parallel, parallel_written, parallel_checked_here = await imported_both_files(pool, monkeypatch)
    finally:
        pool.close()
    serial, serial_written, serial_checked_here = await imported_both_files(InlineContactChecks(), monkeypatch)

    assert parallel == serial
    assert parallel_written == serial_written
    # The file is what it should be: every kind of row is there.
    assert serial["import"]["created_rows"] > 100
    assert serial["import"]["updated_rows"] > 0
    assert serial["import"]["rejected_rows"] > 100
    messages = {p["message"] for _, _, found in serial["problems"] for p in found}
    assert {"is not a valid phone number", "must be a size from 15 to 60"} <= messages
    assert any("email" in m for m in messages)
    # The workers did the checking: the service's process checked only what is not in the email and phone
    # columns (the secondary phones), where the serial run checked every value itself.
    assert pool.checked > 700
    assert all(" (home)" not in v and "@" not in v for v in parallel_checked_here)
    assert len(parallel_checked_here) < len(serial_checked_here) / 3


async def test_workers_that_fail_leave_the_checks_to_the_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    # A function no worker can be sent: the batch's check fails, and nothing is learned.
    monkeypatch.setattr(contact_checks, "check_contacts", lambda emails, phones: ([], []))
    pool = ProcessPoolContactChecks(1, min_values=0)
    try:
        results = await pool.check(["ada@example.com"], [("+12125550142", None)])
    finally:
        pool.close()
    assert results.parts == []
