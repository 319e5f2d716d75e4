"""The catalogue's use cases through the fake unit of work: every broken field at once, stale versions and
taken names refused, and what a client in the portal may see."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from platform_core.errors import Conflict, InvalidArgument, NotFound
from scheduling_svc.domain import commands
from scheduling_svc.domain import commands_catalogue as catalogue_commands
from scheduling_svc.service_layer import catalogue_handlers, handlers

from .fakes import ANNA, CUT, TENANT, a_business

NOW = datetime(2030, 3, 4, 7, 0, tzinfo=UTC)
TOMORROW = date(2030, 3, 5)


def settings_change(**changes: object) -> catalogue_commands.UpdateSchedulingSettings:
    fields: dict[str, object] = {
        "tenant_id": TENANT,
        "timezone": "Europe/Berlin",
        "granularity_minutes": 15,
        "min_notice_minutes": 60,
        "horizon_days": 90,
        "business_hours": [(0, [("09:00", "18:00")])],
        "cancellation_notice_minutes": 1440,
        "max_active_bookings_per_client": 3,
        "follow_up_actions": ["video call"],
        "version": 1,
    }
    fields.update(changes)
    return catalogue_commands.UpdateSchedulingSettings(**fields)  # type: ignore[arg-type]


def colour_service(**changes: object) -> catalogue_commands.ServiceInput:
    fields: dict[str, object] = {
        "name": "Colour",
        "description": "",
        "duration_minutes": 90,
        "buffer_before_minutes": 0,
        "buffer_after_minutes": 15,
        "price_minor": 8000,
        "currency": "EUR",
        "capacity": 1,
        "bookable_online": False,
        "staff_ids": [str(ANNA)],
        "resource_ids": [],
        "category": "",
        "colour": "",
        "rules": None,
    }
    fields.update(changes)
    return catalogue_commands.ServiceInput(**fields)  # type: ignore[arg-type]


async def test_settings_are_checked_field_by_field_and_saved_under_a_new_version() -> None:
    uow = a_business()

    with pytest.raises(InvalidArgument) as refused:
        await catalogue_handlers.update_scheduling_settings(
            settings_change(timezone="Mars/Olympus", granularity_minutes=1), uow
        )
    assert {v.field for v in refused.value.violations} == {"timezone", "slot_rules.granularity_minutes"}

    saved = await catalogue_handlers.update_scheduling_settings(settings_change(), uow)
    assert (saved.version, saved.max_active_bookings_per_client, uow.commits) == (2, 3, 1)
    assert (
        await catalogue_handlers.get_scheduling_settings(catalogue_commands.GetSchedulingSettings(TENANT), uow) == saved
    )
    with pytest.raises(Conflict):
        await catalogue_handlers.update_scheduling_settings(settings_change(version=1), uow)


async def test_a_service_is_created_with_known_staff_and_a_name_of_its_own() -> None:
    uow = a_business()

    colour = await catalogue_handlers.create_service(
        catalogue_commands.CreateService(TENANT, colour_service(), NOW), uow
    )

    assert (colour.name, colour.version, colour.definition.staff_ids) == ("Colour", 1, (ANNA,))
    with pytest.raises(Conflict) as taken:
        await catalogue_handlers.create_service(catalogue_commands.CreateService(TENANT, colour_service(), NOW), uow)
    assert taken.value.reason == "SERVICE_NAME_TAKEN"
    with pytest.raises(InvalidArgument):
        await catalogue_handlers.create_service(
            catalogue_commands.CreateService(TENANT, colour_service(name="Perm", staff_ids=[str(uuid.uuid4())]), NOW),
            uow,
        )
    with pytest.raises(InvalidArgument) as refused:
        await catalogue_handlers.create_service(
            catalogue_commands.CreateService(TENANT, colour_service(name="", duration_minutes=0), NOW), uow
        )
    assert {v.field for v in refused.value.violations} == {"name", "duration_minutes"}


async def test_an_update_needs_the_current_version_and_an_archived_service_is_not_offered() -> None:
    uow = a_business()
    colour = await catalogue_handlers.create_service(
        catalogue_commands.CreateService(TENANT, colour_service(), NOW), uow
    )

    longer = await catalogue_handlers.update_service(
        catalogue_commands.UpdateService(TENANT, colour.id, colour_service(duration_minutes=120), 1, NOW), uow
    )
    with pytest.raises(Conflict):
        await catalogue_handlers.update_service(
            catalogue_commands.UpdateService(TENANT, colour.id, colour_service(), 1, NOW), uow
        )
    archived = await catalogue_handlers.archive_service(catalogue_commands.ArchiveService(TENANT, colour.id), uow)

    assert (longer.version, archived.archived) == (2, True)
    with pytest.raises(InvalidArgument):
        await handlers.find_slots(
            commands.FindSlots(TENANT, (colour.id,), TOMORROW, TOMORROW, None, "", 1, online=False, now=NOW), uow
        )


async def test_a_client_sees_only_live_services_bookable_online() -> None:
    uow = a_business()
    colour = await catalogue_handlers.create_service(
        catalogue_commands.CreateService(TENANT, colour_service(), NOW), uow
    )

    for_staff = await catalogue_handlers.list_services(catalogue_commands.ListServices(TENANT, True, False, False), uow)
    for_client = await catalogue_handlers.list_services(catalogue_commands.ListServices(TENANT, True, False, True), uow)

    assert {s.name for s in for_staff} == {"Cut", "Colour"} and [s.id for s in for_client] == [CUT]
    with pytest.raises(NotFound):
        await catalogue_handlers.get_service(catalogue_commands.GetService(TENANT, colour.id, for_client=True), uow)
    assert (
        await catalogue_handlers.get_service(catalogue_commands.GetService(TENANT, colour.id, False), uow)
    ) == colour


async def test_a_staff_schedule_is_created_at_version_zero_and_changed_at_its_current_version() -> None:
    uow = a_business()
    carla = uuid.uuid4()
    hours = [(day, [("10:00", "14:00")]) for day in range(5)]
    put = catalogue_commands.PutStaffMember(TENANT, str(carla), "Carla", "Europe/Berlin", hours, True, 0)

    created, services = await catalogue_handlers.put_staff_member(put, uow)
    with pytest.raises(Conflict):
        await catalogue_handlers.put_staff_member(put, uow)
    left, _ = await catalogue_handlers.put_staff_member(replace(put, active=False, version=1), uow)

    assert (created.version, services, left.active) == (1, [], False)
    found, _ = await catalogue_handlers.get_staff_member(catalogue_commands.GetStaffMember(TENANT, carla), uow)
    assert found == left
    active = await catalogue_handlers.list_staff_members(catalogue_commands.ListStaffMembers(TENANT, False), uow)
    assert carla not in {s.staff_id for s, _ in active} and ANNA in {s.staff_id for s, _ in active}


async def test_a_business_holiday_closes_the_day_until_it_is_removed() -> None:
    uow = a_business()
    holiday = catalogue_commands.AddScheduleException(TENANT, "", TOMORROW.isoformat(), False, [], "Carnival")
    find = commands.FindSlots(TENANT, (CUT,), TOMORROW, TOMORROW, None, "", 1, online=True, now=NOW)

    exception_id, definition = await catalogue_handlers.add_schedule_exception(holiday, uow)

    assert (definition.staff_id, definition.label) == (None, "Carnival")
    assert (await handlers.find_slots(find, uow))[0] == []
    listed = await catalogue_handlers.list_schedule_exceptions(
        catalogue_commands.ListScheduleExceptions(TENANT, [None], date.min, date.max), uow
    )
    assert [(i, label) for i, _, _, label in listed] == [(exception_id, "Carnival")]
    await catalogue_handlers.remove_schedule_exception(
        catalogue_commands.RemoveScheduleException(TENANT, exception_id), uow
    )
    assert len((await handlers.find_slots(find, uow))[0]) == 15
    with pytest.raises(NotFound):
        await catalogue_handlers.remove_schedule_exception(
            catalogue_commands.RemoveScheduleException(TENANT, exception_id), uow
        )


async def test_a_resource_has_a_name_of_its_own_until_it_is_archived() -> None:
    uow = a_business()
    room = await catalogue_handlers.create_resource(catalogue_commands.CreateResource(TENANT, "Room 1", "", 1), uow)

    with pytest.raises(Conflict):
        await catalogue_handlers.create_resource(catalogue_commands.CreateResource(TENANT, "Room 1", "room", 1), uow)
    with pytest.raises(InvalidArgument) as refused:
        await catalogue_handlers.create_resource(catalogue_commands.CreateResource(TENANT, "Laser", "robot", 0), uow)
    archived = await catalogue_handlers.update_resource(
        catalogue_commands.UpdateResource(TENANT, room.id, "Room 1", "room", 1, archived=True), uow
    )
    again = await catalogue_handlers.create_resource(
        catalogue_commands.CreateResource(TENANT, "Room 1", "room", 2), uow
    )

    assert (room.kind, archived.archived) == ("room", True)
    assert {v.field for v in refused.value.violations} == {"kind", "capacity"}
    listed = await catalogue_handlers.list_resources(catalogue_commands.ListResources(TENANT), uow)
    assert {(r.id, r.archived) for r in listed} == {(room.id, True), (again.id, False)}
