"""The client record use cases (service_layer/handlers.py) through the fake unit of work: what they commit,
count and publish, and what they refuse."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from client_svc.domain import commands, events
from client_svc.service_layer import handlers
from platform_core.errors import Conflict, FailedPrecondition, InvalidArgument, NotFound, PermissionDenied

from .fakes import FakeClientUnitOfWork

TENANT = uuid.uuid4()
NOW = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


async def a_client(uow: FakeClientUnitOfWork, name: str = "Grace") -> uuid.UUID:
    created = await handlers.create_client(commands.CreateClient(TENANT, first_name=name, now=NOW), uow)
    return created.client.id


async def test_create_client_commits_the_client_and_its_event(uow: FakeClientUnitOfWork) -> None:
    created = await handlers.create_client(commands.CreateClient(tenant_id=TENANT, first_name="Grace", now=NOW), uow)
    client = created.client
    assert created.status_label == "Active"  # the default of the ready-made statuses
    assert uow.committed
    assert await uow.clients.get(TENANT, client.id) is client
    assert client.created_at == NOW  # the command's clock, not the handler's
    assert [type(e) for e in uow.published] == [events.ClientCreated]
    assert uow.quota.live[TENANT] == 1


async def test_the_same_request_id_returns_the_first_client_and_publishes_once(uow: FakeClientUnitOfWork) -> None:
    cmd = commands.CreateClient(tenant_id=TENANT, first_name="Grace", request_id="req-1", now=NOW)
    first = (await handlers.create_client(cmd, uow)).client
    again = await handlers.create_client(cmd, uow)
    assert again.client.id == first.id
    assert again.status_label is None  # answered with the client made before
    assert len(uow.clients.rows) == 1
    assert len(uow.published) == 1


async def test_invalid_input_commits_nothing(uow: FakeClientUnitOfWork) -> None:
    with pytest.raises(InvalidArgument):
        await handlers.create_client(commands.CreateClient(tenant_id=TENANT, first_name="", now=NOW), uow)
    assert not uow.committed
    assert uow.clients.rows == {}


async def test_update_delete_and_restore_change_the_client_and_its_count(uow: FakeClientUnitOfWork) -> None:
    client_id = await a_client(uow)
    later = NOW + timedelta(hours=1)
    updated = await handlers.update_client(commands.UpdateClient(TENANT, client_id, last_name="Hopper", now=later), uow)
    assert (updated.last_name, updated.updated_at) == ("Hopper", later)
    await handlers.delete_client(commands.DeleteClient(TENANT, client_id, now=later), uow)
    assert uow.quota.live[TENANT] == 0
    with pytest.raises(FailedPrecondition):
        await handlers.update_client(commands.UpdateClient(TENANT, client_id, last_name="H", now=later), uow)
    restored = await handlers.restore_client(commands.RestoreClient(TENANT, client_id, now=later), uow)
    assert not restored.is_deleted and uow.quota.live[TENANT] == 1
    assert [type(e) for e in uow.published][1:] == [events.ClientUpdated, events.ClientDeleted, events.ClientRestored]
    with pytest.raises(NotFound):
        await handlers.delete_client(commands.DeleteClient(uuid.uuid4(), client_id, now=later), uow)


async def test_a_block_with_an_end_is_lifted_by_the_sweep_once_its_end_has_come(uow: FakeClientUnitOfWork) -> None:
    client_id = await a_client(uow)
    until = NOW + timedelta(days=1)
    blocked = await handlers.set_online_booking_blocked(
        commands.SetOnlineBookingBlocked(TENANT, client_id, blocked=True, reason="no-shows", until=until, now=NOW), uow
    )
    assert blocked.online_booking_blocked
    assert await handlers.lift_ended_booking_blocks(commands.LiftEndedBookingBlocks(NOW, batch=10), uow) == 0
    sweep = commands.LiftEndedBookingBlocks(until, batch=10)
    assert await handlers.lift_ended_booking_blocks(sweep, uow) == 1
    assert not blocked.online_booking_blocked
    assert [type(e) for e in uow.published][-2:] == [events.ClientBookingBlocked, events.ClientBookingUnblocked]


async def test_statuses_are_listed_created_archived_and_assigned(uow: FakeClientUnitOfWork) -> None:
    client_id = await a_client(uow)
    ready_made = await handlers.list_statuses(commands.ListClientStatuses(TENANT), uow)
    vip = await handlers.create_status(commands.CreateClientStatus(TENANT, "VIP"), uow)
    with pytest.raises(Conflict):
        await handlers.create_status(commands.CreateClientStatus(TENANT, "vip"), uow)
    changed = await handlers.set_client_status(commands.SetClientStatus(TENANT, client_id, vip.id, now=NOW), uow)
    assert changed.status_id == vip.id
    assert isinstance(uow.published[-1], events.ClientStatusChanged)
    await handlers.archive_status(commands.ArchiveClientStatus(TENANT, vip.id, now=NOW), uow)
    live = await handlers.list_statuses(commands.ListClientStatuses(TENANT), uow)
    assert [s.label for s in live] == [s.label for s in ready_made]
    every = await handlers.list_statuses(commands.ListClientStatuses(TENANT, include_archived=True), uow)
    assert [s.label for s in every][-1] == "VIP"


async def test_notes_are_added_to_live_clients_and_edited_by_their_author(uow: FakeClientUnitOfWork) -> None:
    client_id = await a_client(uow)
    note = await handlers.add_note(
        commands.AddClientNote(TENANT, client_id, "staff-1", "Prefers mornings", now=NOW), uow
    )
    assert uow.notes.rows[(TENANT, note.id)] is note
    edit = commands.EditClientNote(TENANT, client_id, note.id, "staff-2", "staff", "Evenings", now=NOW)
    with pytest.raises(PermissionDenied):
        await handlers.edit_note(edit, uow)
    edited = await handlers.edit_note(
        commands.EditClientNote(TENANT, client_id, note.id, "staff-1", "staff", "Evenings", now=NOW), uow
    )
    assert (edited.current.body, edited.current.revision) == ("Evenings", 2)
    with pytest.raises(NotFound):
        await handlers.edit_note(
            commands.EditClientNote(TENANT, uuid.uuid4(), note.id, "staff-1", "staff", "x", now=NOW), uow
        )
    await handlers.delete_client(commands.DeleteClient(TENANT, client_id, now=NOW), uow)
    with pytest.raises(FailedPrecondition):
        await handlers.add_note(commands.AddClientNote(TENANT, client_id, "staff-1", "Too late", now=NOW), uow)


async def test_staff_and_tags_replace_the_clients_sets(uow: FakeClientUnitOfWork) -> None:
    client_id = await a_client(uow)
    staff = uuid.uuid4()
    client = await handlers.set_client_staff(commands.SetClientStaff(TENANT, client_id, (staff,), now=NOW), uow)
    assert client.assigned_staff_ids == [staff]
    client = await handlers.set_client_tags(commands.SetClientTags(TENANT, client_id, ("VIP", "vip"), now=NOW), uow)
    assert client.tags == ["VIP"]


async def test_groups_count_live_members_and_keep_their_staff(uow: FakeClientUnitOfWork) -> None:
    ada, grace = await a_client(uow, "Ada"), await a_client(uow, "Grace")
    group = await handlers.create_group(commands.CreateClientGroup(TENANT, "  Morning   class ", now=NOW), uow)
    assert (group.name, group.member_count) == ("Morning class", 0)
    with pytest.raises(Conflict):
        await handlers.create_group(commands.CreateClientGroup(TENANT, "Morning class", now=NOW), uow)
    members = (str(ada), str(grace))
    group = await handlers.add_clients_to_group(commands.AddClientsToGroup(TENANT, group.id, members, now=NOW), uow)
    assert group.member_count == 2
    with pytest.raises(InvalidArgument) as exc:
        stranger = (str(uuid.uuid4()),)
        await handlers.add_clients_to_group(commands.AddClientsToGroup(TENANT, group.id, stranger, now=NOW), uow)
    assert [v.field for v in exc.value.violations] == ["client_ids"]
    group = await handlers.remove_clients_from_group(
        commands.RemoveClientsFromGroup(TENANT, group.id, (str(ada),)), uow
    )
    assert group.member_count == 1
    staff = (uuid.uuid4(), uuid.uuid4())
    group = await handlers.set_group_staff(commands.SetClientGroupStaff(TENANT, group.id, staff, now=NOW), uow)
    assert group.staff_ids == staff
    group = await handlers.rename_group(commands.RenameClientGroup(TENANT, group.id, "Evening class"), uow)
    assert [g.name for g in await handlers.list_groups(commands.ListClientGroups(TENANT), uow)] == ["Evening class"]
    await handlers.delete_group(commands.DeleteClientGroup(TENANT, group.id), uow)
    with pytest.raises(NotFound):
        await handlers.delete_group(commands.DeleteClientGroup(TENANT, group.id), uow)
    assert await handlers.list_groups(commands.ListClientGroups(TENANT), uow) == []
