"""Several emails and phones per client, one primary each, and contact persons of businesses."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from client_svc.domain import commands, events
from client_svc.domain.contact_details import ContactPersonInput, ContactPointInput, PointValue
from client_svc.domain.model import Client
from client_svc.domain.profile import ProfileInput
from platform_core.errors import InvalidArgument

NOW = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)
TENANT = uuid.uuid4()
BUSINESS = ProfileInput(kind="business", company_name="Acme")


def register(**fields: Any) -> Client:
    values = {"first_name": "Ada", "default_region": "US"} | fields
    return Client.register(commands.CreateClient(tenant_id=TENANT, **values, now=NOW), client_id=uuid.uuid4(), now=NOW)


def update(client: Client, **fields: Any) -> None:
    client.events.clear()
    client.update(commands.UpdateClient(TENANT, client.id, default_region="US", **fields, now=NOW), now=LATER)


def points(client: Client, kind: str) -> list[tuple[str, str, bool]]:
    ordered = sorted((p for p in client.contact_points if p.kind == kind), key=lambda p: p.position)
    return [(p.value, p.label, p.is_primary) for p in ordered]


def fields_of(exc: pytest.ExceptionInfo[InvalidArgument]) -> set[str]:
    return {v.field for v in exc.value.violations}


def test_several_phones_are_normalized_and_the_marked_one_is_primary_and_the_client_phone() -> None:
    client = register(
        phones=(ContactPointInput("(212) 555-0142", "home"), ContactPointInput("212 555 0199", "mobile", primary=True))
    )
    assert points(client, "phone") == [("+12125550199", "mobile", True), ("+12125550142", "home", False)]
    assert client.phone == "+12125550199"
    [created] = client.events
    assert isinstance(created, events.ClientCreated)
    assert created.phones == (PointValue("+12125550199", "mobile", True), PointValue("+12125550142", "home", False))


def test_without_a_marked_primary_the_first_is_primary() -> None:
    client = register(emails=(ContactPointInput("a@example.com", "work"), ContactPointInput("b@example.com")))
    assert points(client, "email") == [("a@example.com", "work", True), ("b@example.com", "other", False)]
    assert client.email == "a@example.com"


def test_the_single_email_field_alone_makes_one_primary_email() -> None:
    client = register(email="ada@example.com")
    assert points(client, "email") == [("ada@example.com", "other", True)]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"emails": (ContactPointInput("a@example.com", primary=True),) * 2}, {"emails[1].value"}),
        (
            {"emails": (ContactPointInput("a@example.com", primary=True), ContactPointInput("b@x.com", primary=True))},
            {"emails"},
        ),
        ({"phones": (ContactPointInput("12"),)}, {"phones[0].value"}),
        ({"phones": (ContactPointInput("2125550142", "pager"),)}, {"phones[0].label"}),
        ({"emails": (ContactPointInput("a@example.com"),), "email": "b@example.com"}, {"email"}),
        ({"emails": tuple(ContactPointInput(f"a{i}@example.com") for i in range(11))}, {"emails"}),
    ],
)
def test_broken_lists_name_the_field(fields: dict[str, Any], expected: set[str]) -> None:
    with pytest.raises(InvalidArgument) as exc:
        register(**fields)
    assert fields_of(exc) == expected


def test_the_single_field_may_repeat_the_primary_of_the_list() -> None:
    client = register(email="a@example.com", emails=(ContactPointInput("a@example.com"),))
    assert client.email == "a@example.com"


def test_replacing_the_list_keeps_rows_of_values_that_stay_and_reports_what_changed() -> None:
    client = register(phones=(ContactPointInput("2125550142"), ContactPointInput("2125550199")))
    kept = next(p for p in client.contact_points if p.value == "+12125550199")
    update(client, phones=(ContactPointInput("2125550199", "work", primary=True), ContactPointInput("2125550100")))
    assert points(client, "phone") == [("+12125550199", "work", True), ("+12125550100", "other", False)]
    assert any(p is kept for p in client.contact_points)
    assert client.phone == "+12125550199"
    [updated] = client.events
    assert isinstance(updated, events.ClientUpdated)
    assert set(updated.changed_fields) == {"phone", "phones"}
    assert [p.value for p in updated.phones] == ["+12125550199", "+12125550100"]


def test_setting_the_single_field_changes_the_primary_and_keeps_the_others() -> None:
    client = register(emails=(ContactPointInput("a@example.com", "work"), ContactPointInput("b@example.com")))
    update(client, email="c@example.com")
    assert points(client, "email") == [("c@example.com", "work", True), ("b@example.com", "other", False)]
    assert client.events[0].changed_fields == ("email",)
    update(client, email="")
    assert points(client, "email") == [("b@example.com", "other", True)]
    assert client.email == "b@example.com"
    update(client, email="")
    assert (points(client, "email"), client.email) == ([], None)


def test_an_unchanged_list_records_nothing() -> None:
    client = register(emails=(ContactPointInput("a@example.com", "work"),))
    version_events = list(client.events)
    update(client, emails=(ContactPointInput("a@example.com", "work"),))
    assert client.events == [] and version_events


def test_contact_persons_belong_to_businesses_only() -> None:
    person = ContactPersonInput("Grace Hopper", "Buyer", "grace@acme.example", "212 555 0142")
    with pytest.raises(InvalidArgument) as exc:
        register(contact_persons=(person,))
    assert fields_of(exc) == {"contact_persons"}
    client = register(first_name="", profile=BUSINESS, contact_persons=(person,))
    [stored] = client.contact_persons
    assert (stored.name, stored.role, stored.email, stored.phone) == (
        "Grace Hopper",
        "Buyer",
        "grace@acme.example",
        "+12125550142",
    )
    assert client.events[0].contact_persons[0].name == "Grace Hopper"
    # Turning the business into an individual needs its contact persons removed.
    with pytest.raises(InvalidArgument) as exc:
        update(client, first_name="Grace", profile=ProfileInput(kind="individual"))
    assert fields_of(exc) == {"contact_persons"}
    update(client, first_name="Grace", profile=ProfileInput(kind="individual"), contact_persons=())
    assert client.contact_persons == []
    assert "contact_persons" in client.events[0].changed_fields


def test_a_contact_person_needs_a_name_and_valid_details() -> None:
    with pytest.raises(InvalidArgument) as exc:
        register(profile=BUSINESS, contact_persons=(ContactPersonInput(" ", email="nope", phone="1"),))
    assert fields_of(exc) == {"contact_persons[0].name", "contact_persons[0].email", "contact_persons[0].phone"}
