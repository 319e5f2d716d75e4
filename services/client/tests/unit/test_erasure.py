"""Erasing a client's personal data: the rules, without a database."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from client_svc.domain import commands
from client_svc.domain.erasure import (
    ERASED_NAME,
    ERASED_VALUES,
    ClientErased,
    check_confirmed,
    erase,
    erase_with_absorbed,
)
from client_svc.domain.merge import ClientMerge
from client_svc.domain.model import Client
from client_svc.domain.profile import Address, ProfileInput
from platform_core.errors import FailedPrecondition, InvalidArgument

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
TENANT = uuid.uuid4()


def client(first_name: str = "Grace") -> Client:
    registered = Client.register(
        commands.CreateClient(
            tenant_id=TENANT,
            first_name=first_name,
            last_name="Hopper",
            email="grace@example.com",
            phone="+12125550142",
            request_id="form-1",
            profile=ProfileInput(
                kind="business",
                company_name="Hopper Compilers",
                address=Address(line1="1 Navy Yard", city="Arlington", country="US"),
                date_of_birth="1946-12-09",
                preferred_language="en",
                timezone="America/New_York",
                opening_balance_minor=-2500,
                opening_balance_currency="USD",
            ),
            now=NOW,
        ),
        client_id=uuid.uuid4(),
        now=NOW - timedelta(days=3),
    )
    registered.set_tags(["VIP"], now=NOW - timedelta(days=2))
    registered.assign_staff([uuid.uuid4()], now=NOW - timedelta(days=2))
    registered.events.clear()
    return registered


def test_erasure_blanks_every_personal_field_and_keeps_what_is_not_personal() -> None:
    grace = client()
    status, source = grace.status_id, grace.source
    assert erase(grace, now=NOW)
    assert (grace.first_name, grace.last_name, grace.email, grace.phone) == (ERASED_NAME, "", None, None)
    for attr, value in ERASED_VALUES.items():
        assert getattr(grace, attr) == value, attr
    assert (grace.tags, grace.assigned_staff_ids) == ([], [])
    assert (grace.erased_at, grace.deleted_at) == (NOW, NOW)
    # Kept: not about the person, or financial records the law requires.
    assert (grace.status_id, grace.source, grace.default_invoicing_method) == (status, source, "email")
    assert (grace.opening_balance_minor, grace.opening_balance_currency) == (-2500, "USD")
    assert grace.events == [ClientErased(TENANT, grace.id, NOW)]


def test_erasing_an_erased_client_changes_nothing() -> None:
    grace = client()
    erase(grace, now=NOW)
    grace.events.clear()
    assert not erase(grace, now=NOW + timedelta(days=1))
    assert (grace.erased_at, grace.events) == (NOW, [])


def test_a_deleted_client_keeps_its_deletion_time() -> None:
    grace = client()
    grace.delete(now=NOW - timedelta(days=1))
    erase(grace, now=NOW)
    assert grace.deleted_at == NOW - timedelta(days=1)


def test_an_erased_client_can_never_change_again() -> None:
    grace = client()
    erase(grace, now=NOW)
    for change in (
        lambda: grace.update(commands.UpdateClient(TENANT, grace.id, first_name="Grace", now=NOW), now=NOW),
        lambda: grace.restore(now=NOW),
        lambda: grace.set_tags(["x"], now=NOW),
    ):
        with pytest.raises(FailedPrecondition) as exc:
            change()
        assert exc.value.reason == "CLIENT_ERASED"


def test_erasure_must_be_confirmed() -> None:
    with pytest.raises(InvalidArgument) as exc:
        check_confirmed(False)
    assert [v.field for v in exc.value.violations] == ["confirm"]
    check_confirmed(True)


def test_a_survivor_is_erased_with_the_clients_merged_into_it_but_never_through_them() -> None:
    survivor, duplicate = client("Grace"), client("Amazing Grace")
    ClientMerge.merge(
        merge_id=uuid.uuid4(), survivor=survivor, merged=[duplicate], choices={}, rows=[], merged_by="s", now=NOW
    )
    with pytest.raises(FailedPrecondition) as exc:
        erase_with_absorbed(duplicate, [], now=NOW)
    assert exc.value.reason == "CLIENT_MERGED"
    assert erase_with_absorbed(survivor, [duplicate], now=NOW) == [survivor, duplicate]
    assert duplicate.first_name == ERASED_NAME and duplicate.merged_into == survivor.id
    assert erase_with_absorbed(survivor, [duplicate], now=NOW) == []
