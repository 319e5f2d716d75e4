"""Merging duplicates and undoing it: the rules, without a database."""

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from client_svc.domain import commands, events
from client_svc.domain.merge import (
    MERGE_FIELDS,
    UNDO_WINDOW,
    ClientMerge,
    ClientsMerged,
    ClientsUnmerged,
    OwnedRow,
    RowMove,
    check_participants,
    plan_moves,
)
from client_svc.domain.model import Client
from client_svc.domain.profile import Address, ProfileInput
from platform_core.errors import Conflict, FailedPrecondition, InvalidArgument

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
TENANT = uuid.uuid4()


def client(first_name: str = "Ada", **fields: Any) -> Client:
    profile = fields.pop("profile", ProfileInput())
    values = {"first_name": first_name, "default_region": "US"} | fields
    registered = Client.register(
        commands.CreateClient(tenant_id=TENANT, profile=profile, **values, now=NOW),
        client_id=uuid.uuid4(),
        now=NOW - timedelta(days=1),
    )
    registered.events.clear()
    return registered


def merge(survivor: Client, *merged: Client, choices: dict[str, uuid.UUID] | None = None, **kw: Any) -> ClientMerge:
    return ClientMerge.merge(
        merge_id=uuid.uuid4(),
        survivor=survivor,
        merged=list(merged),
        choices=choices or {},
        rows=kw.get("rows", []),
        merged_by="staff-1",
        now=kw.get("now", NOW),
    )


def test_the_survivor_keeps_its_values_and_fills_the_empty_ones_from_the_first_merged_client_that_has_them() -> None:
    survivor = client("Ada", last_name="Lovelace", email="ada@old.example")
    first = client("Ada", phone="+12125550142")
    second = client(
        "Augusta",
        phone="+12125550199",
        profile=ProfileInput(address=Address(line1="1 Main St", city="Springfield"), date_of_birth="1985-12-10"),
    )
    journal = merge(survivor, first, second)
    assert (survivor.first_name, survivor.last_name, survivor.email) == ("Ada", "Lovelace", "ada@old.example")
    assert survivor.phone == "+12125550142"  # the first merged client's, not the second's
    assert (survivor.address_line1, survivor.address_city) == ("1 Main St", "Springfield")
    assert survivor.date_of_birth == date(1985, 12, 10)
    assert journal.fields_taken == {"phone": first.id, "address": second.id, "date_of_birth": second.id}


def test_a_chosen_value_wins_even_over_the_survivors_own() -> None:
    survivor = client("Ada", email="ada@old.example")
    duplicate = client("Augusta", email="ada@new.example")
    journal = merge(survivor, duplicate, choices={"email": duplicate.id, "first_name": duplicate.id})
    assert (survivor.first_name, survivor.email) == ("Augusta", "ada@new.example")
    assert journal.fields_taken == {"first_name": duplicate.id, "email": duplicate.id}
    [updated] = survivor.events
    assert isinstance(updated, events.ClientUpdated)
    assert set(updated.changed_fields) == {"first_name", "email"}


def test_an_online_booking_block_survives_the_merge() -> None:
    survivor, blocked = client("Ada"), client("Ada")
    blocked.set_online_booking_blocked(True, reason="no-shows", now=NOW)
    merge(survivor, blocked)
    assert survivor.online_booking_blocked


def test_merged_clients_point_at_the_survivor_and_the_merge_is_an_event() -> None:
    survivor, a, b = client("S"), client("A"), client("B")
    journal = merge(survivor, a, b)
    assert (a.merged_into, b.merged_into) == (survivor.id, survivor.id)
    assert a.merged_at == NOW
    assert journal.undo_until == NOW + timedelta(days=30) == NOW + UNDO_WINDOW
    [event] = journal.events
    assert event == ClientsMerged(TENANT, journal.id, survivor.id, (a.id, b.id), NOW)
    assert event.client_id == survivor.id
    with pytest.raises(FailedPrecondition) as exc:
        a.update(commands.UpdateClient(TENANT, a.id, first_name="Again", now=NOW), now=NOW)
    assert exc.value.reason == "CLIENT_MERGED"


@pytest.mark.parametrize(
    ("merged_count", "survivor_too", "twice", "message"),
    [
        (0, False, False, "at least one"),
        (11, False, False, "at most 10"),
        (1, True, False, "into itself"),
        (2, False, True, "twice"),
    ],
)
def test_the_shape_of_a_merge_is_checked(merged_count: int, survivor_too: bool, twice: bool, message: str) -> None:
    survivor = uuid.uuid4()
    merged = [uuid.uuid4() for _ in range(merged_count)]
    if survivor_too:
        merged = [survivor]
    if twice:
        merged = [merged[0], merged[0]]
    with pytest.raises(InvalidArgument) as exc:
        check_participants(survivor, merged)
    [violation] = exc.value.violations
    assert violation.field == "merged_ids" and message in violation.message


def test_unknown_fields_and_outsiders_in_choices_are_refused_by_field() -> None:
    survivor, duplicate = client("S"), client("D")
    with pytest.raises(InvalidArgument) as exc:
        merge(survivor, duplicate, choices={"shoe_size": duplicate.id, "email": uuid.uuid4()})
    assert {v.field for v in exc.value.violations} == {"field_choices.shoe_size", "field_choices.email"}
    assert duplicate.merged_into is None


@pytest.mark.parametrize("state", ["deleted", "merged"])
def test_only_live_clients_merge(state: str) -> None:
    survivor, other, duplicate = client("S"), client("O"), client("D")
    if state == "deleted":
        duplicate.delete(now=NOW)
    else:
        merge(other, duplicate)
    with pytest.raises(FailedPrecondition) as exc:
        merge(survivor, duplicate)
    assert exc.value.reason == {"deleted": "CLIENT_DELETED", "merged": "CLIENT_MERGED"}[state]


def test_a_merge_that_would_leave_an_invalid_record_is_refused() -> None:
    survivor = client("", profile=ProfileInput(kind="business", company_name="Acme"))
    person = client("Ada")
    with pytest.raises(InvalidArgument) as exc:
        merge(survivor, person, choices={"company_name": person.id})  # a business without a company name
    assert [v.field for v in exc.value.violations] == ["field_choices"]


def test_rows_move_unless_the_survivor_or_an_earlier_merged_client_already_has_the_same_thing() -> None:
    s, a, b = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    rows = [
        OwnedRow("client_tags", "VIP", s, "vip"),
        OwnedRow("client_tags", "vip", a, "vip"),  # the survivor's already: stays with a
        OwnedRow("client_tags", "Regular", a, "regular"),
        OwnedRow("client_tags", "regular", b, "regular"),  # a's copy moves: b's stays
        OwnedRow("client_notes", "n1", a),
        OwnedRow("client_notes", "n2", b),
        OwnedRow("client_notes", "n0", s),
    ]
    assert plan_moves(s, [a, b], rows) == [
        RowMove("client_notes", "n1", a),
        RowMove("client_tags", "Regular", a),
        RowMove("client_notes", "n2", b),
    ]


def test_an_unmerge_restores_the_survivors_fields_except_those_changed_since() -> None:
    survivor = client("Ada", email="ada@old.example")
    duplicate = client("Augusta", email="ada@new.example", phone="+12125550142", last_name="King")
    journal = merge(survivor, duplicate, choices={"email": duplicate.id, "first_name": duplicate.id})
    survivor.events.clear()
    survivor.update(commands.UpdateClient(TENANT, survivor.id, email="ada@newest.example", now=NOW), now=NOW)
    survivor.events.clear()

    journal.unmerge(survivor=survivor, restored=[duplicate], now=NOW + timedelta(days=29))
    assert survivor.first_name == "Ada"  # restored
    assert survivor.email == "ada@newest.example"  # changed after the merge: kept
    assert (survivor.phone, survivor.last_name) == (None, "")  # filled by the merge: emptied again
    assert (duplicate.merged_into, duplicate.merged_at) == (None, None)
    assert (duplicate.first_name, duplicate.email) == ("Augusta", "ada@new.example")  # never touched
    assert journal.unmerged_at == NOW + timedelta(days=29)
    assert not journal.undoable(NOW)
    [updated] = survivor.events
    assert set(updated.changed_fields) == {"first_name", "last_name", "phone"}
    [_, undone] = journal.events
    assert undone == ClientsUnmerged(TENANT, journal.id, survivor.id, (duplicate.id,), NOW + timedelta(days=29))


def test_an_unmerge_after_thirty_days_is_refused_with_its_reason() -> None:
    survivor, duplicate = client("S"), client("D")
    journal = merge(survivor, duplicate)
    assert journal.undoable(NOW + UNDO_WINDOW)
    assert not journal.undoable(NOW + UNDO_WINDOW + timedelta(seconds=1))
    with pytest.raises(FailedPrecondition) as exc:
        journal.unmerge(survivor=survivor, restored=[duplicate], now=NOW + UNDO_WINDOW + timedelta(seconds=1))
    assert exc.value.reason == "MERGE_UNDO_EXPIRED"
    assert "30 days" in exc.value.message
    assert duplicate.merged_into == survivor.id


def test_an_unmerge_happens_once_and_not_under_a_later_merge_or_after_erasure() -> None:
    survivor, duplicate, later = client("S"), client("D"), client("L")
    journal = merge(survivor, duplicate)
    merge(later, survivor)
    with pytest.raises(FailedPrecondition) as exc:
        journal.unmerge(survivor=survivor, restored=[duplicate], now=NOW)
    assert exc.value.reason == "MERGE_SUPERSEDED"

    other_survivor, other_duplicate = client("S"), client("D")
    other = merge(other_survivor, other_duplicate)
    other.unmerge(survivor=other_survivor, restored=[other_duplicate], now=NOW)
    with pytest.raises(FailedPrecondition) as exc:
        other.unmerge(survivor=other_survivor, restored=[other_duplicate], now=NOW)
    assert exc.value.reason == "MERGE_ALREADY_UNDONE"

    purged_survivor, purged_duplicate = client("S"), client("D")
    purged = merge(purged_survivor, purged_duplicate)
    purged.purge(now=NOW)
    assert (purged.survivor_before, purged.moves, purged.undoable(NOW)) == ({}, [], False)
    with pytest.raises(FailedPrecondition) as exc:
        purged.unmerge(survivor=purged_survivor, restored=[purged_duplicate], now=NOW)
    assert exc.value.reason == "CLIENT_ERASED"


def test_an_unmerge_needs_the_merged_clients_as_the_merge_left_them() -> None:
    survivor, duplicate = client("S"), client("D")
    journal = merge(survivor, duplicate)
    with pytest.raises(Conflict):
        journal.unmerge(survivor=survivor, restored=[], now=NOW)


def test_every_merge_field_names_client_attributes() -> None:
    survivor = client("S")
    for attrs in MERGE_FIELDS.values():
        for attr in attrs:
            assert hasattr(survivor, attr), attr
