"""Custom fields: definitions, values checked against their type, required per form, retirement, CSV text."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from client_svc.domain import commands, commands_custom_fields
from client_svc.domain.custom_fields import (
    CustomField,
    CustomFieldCatalogue,
    CustomValueError,
    format_custom_value,
    key_from_label,
    parse_custom_value,
    validate_value,
)
from client_svc.domain.model import Client
from client_svc.service_layer import custom_field_handlers, handlers
from platform_core.errors import Conflict, InvalidArgument

from .fakes import FakeClientUnitOfWork

NOW = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
TENANT = uuid.uuid4()


def catalogue_with(*specs: dict[str, Any]) -> CustomFieldCatalogue:
    catalogue = CustomFieldCatalogue(TENANT, [])
    for spec in specs:
        values = {"key": "", "options": (), "required": False, "forms": ()} | spec
        catalogue.create(field_id=uuid.uuid4(), now=NOW, **values)
    return catalogue


def definition(field_type: str, options: tuple[str, ...] = ()) -> CustomField:
    return catalogue_with({"label": "F", "field_type": field_type, "options": options}).fields[0]


def fields_of(exc: pytest.ExceptionInfo[InvalidArgument]) -> set[str]:
    return {v.field for v in exc.value.violations}


def test_keys_are_slugs_of_labels_unless_given() -> None:
    assert key_from_label("Shoe size (EU)") == "shoe_size_eu"
    assert key_from_label("Café à la carte") == "cafe_a_la_carte"
    assert key_from_label("2nd phone") == "field_2nd_phone"
    catalogue = catalogue_with({"label": "Shoe size", "field_type": "number", "key": "size"})
    assert catalogue.fields[0].key == "size"


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"label": "", "field_type": "text"}, {"label"}),
        ({"label": "X", "field_type": "colour"}, {"type"}),
        ({"label": "X", "field_type": "single_choice"}, {"options"}),
        ({"label": "X", "field_type": "text", "options": ("a",)}, {"options"}),
        ({"label": "X", "field_type": "multiple_choice", "options": ("a", "A")}, {"options"}),
        ({"label": "X", "field_type": "text", "key": "Not A Key"}, {"key"}),
        ({"label": "X", "field_type": "text", "forms": ("kiosk",)}, {"forms"}),
    ],
)
def test_broken_definitions_name_the_field(spec: dict[str, Any], expected: set[str]) -> None:
    with pytest.raises(InvalidArgument) as exc:
        catalogue_with(spec)
    assert fields_of(exc) == expected


def test_keys_are_unique_forever_and_live_labels_unique() -> None:
    catalogue = catalogue_with({"label": "Allergies", "field_type": "text"})
    with pytest.raises(Conflict) as exc:
        catalogue.create(
            field_id=uuid.uuid4(), label="allergies", key="other", field_type="text", options=(),
            required=False, forms=(), now=NOW,
        )  # fmt: skip
    assert exc.value.reason == "CUSTOM_FIELD_LABEL_TAKEN"
    catalogue.retire(catalogue.fields[0].id, now=NOW)
    with pytest.raises(Conflict) as exc:
        catalogue.create(
            field_id=uuid.uuid4(), label="Allergies 2", key="allergies", field_type="text", options=(),
            required=False, forms=(), now=NOW,
        )  # fmt: skip
    assert exc.value.reason == "CUSTOM_FIELD_KEY_TAKEN"


def test_reorder_lists_every_live_field_once_and_retired_fields_can_come_back() -> None:
    catalogue = catalogue_with(
        {"label": "A", "field_type": "text"}, {"label": "B", "field_type": "text"}, {"label": "C", "field_type": "text"}
    )
    a, b, c = catalogue.fields
    catalogue.retire(b.id, now=NOW)
    assert [f.key for f in catalogue.reorder([c.id, a.id])] == ["c", "a"]
    with pytest.raises(InvalidArgument):
        catalogue.reorder([c.id])
    catalogue.update(b.id, retired=False, now=NOW)
    assert [f.key for f in catalogue.live()] == ["c", "a", "b"]


@pytest.mark.parametrize(
    ("field_type", "options", "given", "stored"),
    [
        ("text", (), "  two   words ", "two words"),
        ("long_text", (), "line one\nline two", "line one\nline two"),
        ("number", (), 42.0, 42),
        ("number", (), 1.5, 1.5),
        ("number", (), "1,234.5", 1234.5),
        ("date", (), "2024-05-31", "2024-05-31"),
        ("single_choice", ("Red", "Blue"), "blue", "Blue"),
        ("multiple_choice", ("Yoga", "Pilates", "Spin"), ["spin", "Yoga", "yoga"], ["Yoga", "Spin"]),
        ("checkbox", (), True, True),
        ("email", (), "Ada@Example.COM", "Ada@example.com"),
        ("phone", (), "(212) 555-0142", "+12125550142"),
        ("url", (), "https://example.com/a b".replace(" ", ""), "https://example.com/ab"),
        ("text", (), "", None),
        ("multiple_choice", ("Yoga",), [], None),
    ],
)
def test_values_are_checked_and_stored_in_their_type(
    field_type: str, options: tuple[str, ...], given: object, stored: object
) -> None:
    assert validate_value(definition(field_type, options), given, region="US") == stored


@pytest.mark.parametrize(
    ("field_type", "options", "given"),
    [
        ("number", (), "many"),
        ("number", (), True),
        ("number", (), 1e20),
        ("date", (), "31/05/2024"),
        ("single_choice", ("Red",), "Green"),
        ("multiple_choice", ("Red",), "Red"),
        ("checkbox", (), "yes"),
        ("email", (), "nope"),
        ("phone", (), "12"),
        ("url", (), "ftp://example.com"),
        ("url", (), "example.com"),
        ("text", (), "x" * 501),
        ("text", (), 5),
    ],
)
def test_values_that_break_their_type_are_refused(field_type: str, options: tuple[str, ...], given: object) -> None:
    with pytest.raises(CustomValueError):
        validate_value(definition(field_type, options), given, region="US")


@pytest.mark.parametrize(
    ("field_type", "options", "text", "value", "formatted"),
    [
        ("number", (), "1 234", 1234, "1234"),
        ("number", (), "0.25", 0.25, "0.25"),
        ("date", (), "2024-02-29", "2024-02-29", "2024-02-29"),
        ("multiple_choice", ("Yoga", "Pilates"), "pilates;YOGA", ["Yoga", "Pilates"], "Yoga; Pilates"),
        ("checkbox", (), "Yes", True, "yes"),
        ("checkbox", (), "no", False, "no"),
        ("checkbox", (), "", None, ""),
        ("single_choice", ("Red",), "red", "Red", "Red"),
        ("phone", (), "+44 20 7946 0958", "+442079460958", "+442079460958"),
    ],
)
def test_csv_text_round_trips(
    field_type: str, options: tuple[str, ...], text: str, value: object, formatted: str
) -> None:
    field = definition(field_type, options)
    assert parse_custom_value(field, text, region="US") == value
    assert format_custom_value(field, value) == formatted
    assert parse_custom_value(field, formatted, region="US") == value


def register(catalogue: CustomFieldCatalogue, values: dict[str, object], form: str = "staff") -> Client:
    cmd = commands.CreateClient(TENANT, first_name="Ada", default_region="US", custom_fields=values, form=form, now=NOW)
    return Client.register(cmd, client_id=uuid.uuid4(), now=NOW, custom_fields=catalogue)


def test_required_fields_are_required_on_the_forms_they_are_collected_on() -> None:
    catalogue = catalogue_with(
        {"label": "Allergies", "field_type": "text", "required": True, "forms": ("staff", "portal_profile")},
        {"label": "Referral", "field_type": "text", "required": True, "forms": ("booking_request",)},
        {"label": "Consent", "field_type": "checkbox", "required": True, "forms": ("portal_profile",)},
    )
    with pytest.raises(InvalidArgument) as exc:
        register(catalogue, {})
    assert fields_of(exc) == {"custom_fields.allergies"}
    with pytest.raises(InvalidArgument) as exc:
        register(catalogue, {"allergies": "none", "consent": False}, form="portal_profile")
    assert fields_of(exc) == {"custom_fields.consent"}  # a required checkbox must be ticked
    client = register(catalogue, {"allergies": "none", "referral": "a friend"})
    assert sorted(v.value for v in client.custom_values) == ["a friend", "none"]


def test_unknown_retired_and_off_form_fields_are_refused() -> None:
    catalogue = catalogue_with(
        {"label": "Old", "field_type": "text"},
        {"label": "Internal", "field_type": "text", "forms": ("staff",)},
    )
    catalogue.retire(catalogue.fields[0].id, now=NOW)
    with pytest.raises(InvalidArgument) as exc:
        register(catalogue, {"old": "x", "nope": "y"})
    assert fields_of(exc) == {"custom_fields.old", "custom_fields.nope"}
    with pytest.raises(InvalidArgument) as exc:
        register(catalogue, {"internal": "x"}, form="portal_profile")
    assert fields_of(exc) == {"custom_fields.internal"}


def test_updates_change_only_the_keys_given_clear_with_none_and_keep_retired_values() -> None:
    catalogue = catalogue_with(
        {"label": "Size", "field_type": "number"},
        {"label": "Colour", "field_type": "single_choice", "options": ("Red", "Blue"), "required": True},
    )
    client = register(catalogue, {"size": 42, "colour": "Red"})
    client.events.clear()
    client.update(
        commands.UpdateClient(TENANT, client.id, custom_fields={"size": None}, now=NOW),
        now=NOW,
        custom_fields=catalogue,
    )
    assert [v.value for v in client.custom_values] == ["Red"]
    assert client.events[0].changed_fields == ("custom_fields",)
    with pytest.raises(InvalidArgument) as exc:
        client.update(
            commands.UpdateClient(TENANT, client.id, custom_fields={"colour": None}, now=NOW),
            now=NOW,
            custom_fields=catalogue,
        )
    assert fields_of(exc) == {"custom_fields.colour"}
    catalogue.retire(catalogue.fields[1].id, now=NOW + timedelta(minutes=1))
    client.update(
        commands.UpdateClient(TENANT, client.id, first_name="Grace", now=NOW), now=NOW, custom_fields=catalogue
    )
    assert [v.value for v in client.custom_values] == ["Red"]  # retiring loses nothing


async def test_handlers_create_fields_and_store_values_with_the_client(uow: FakeClientUnitOfWork) -> None:
    created = await custom_field_handlers.create_custom_field(
        commands_custom_fields.CreateCustomField(TENANT, label="Shoe size", type="number", required=True, now=NOW), uow
    )
    assert (created.key, created.forms) == ("shoe_size", ["staff"])
    with pytest.raises(InvalidArgument):
        await handlers.create_client(commands.CreateClient(TENANT, first_name="Ada", now=NOW), uow)
    made = await handlers.create_client(
        commands.CreateClient(TENANT, first_name="Ada", custom_fields={"shoe_size": 38}, now=NOW), uow
    )
    assert [(v.field_id, v.value) for v in made.client.custom_values] == [(created.id, 38)]
    listed = await custom_field_handlers.list_custom_fields(
        commands_custom_fields.ListCustomFields(TENANT, form="portal_profile"), uow
    )
    assert listed == []


def test_the_booking_request_form_is_answered_whole() -> None:
    catalogue = catalogue_with(
        {"label": "Referral", "field_type": "text", "required": True, "forms": ("booking_request",)},
        {"label": "Consent", "field_type": "checkbox", "required": True, "forms": ("booking_request",)},
        {"label": "Notes", "field_type": "text", "forms": ("booking_request",)},
        {"label": "Internal", "field_type": "text", "required": True, "forms": ("staff",)},
    )
    client = register(catalogue, {"internal": "x"})

    def answer(answers: dict[str, Any]) -> None:
        client.update(
            commands.UpdateClient(TENANT, client.id, custom_fields=answers, form="booking_request", now=NOW),
            now=NOW,
            custom_fields=catalogue,
        )

    with pytest.raises(InvalidArgument) as exc:
        answer({"notes": "first visit"})  # the required answers are missing, even though not given
    assert fields_of(exc) == {"custom_fields.referral", "custom_fields.consent"}
    with pytest.raises(InvalidArgument) as exc:
        answer({"referral": "a friend", "consent": False})
    assert fields_of(exc) == {"custom_fields.consent"}
    answer({"referral": "a friend", "consent": True})
    client.events.clear()
    answer({})  # answered before: the held values complete the form
    assert client.events == []


async def test_handlers_update_retire_and_reorder_the_definitions(uow: FakeClientUnitOfWork) -> None:
    made = [
        await custom_field_handlers.create_custom_field(
            commands_custom_fields.CreateCustomField(TENANT, label=label, type="text", now=NOW), uow
        )
        for label in ("Allergies", "Referrer")
    ]
    updated = await custom_field_handlers.update_custom_field(
        commands_custom_fields.UpdateCustomField(TENANT, made[0].id, label="Allergies and intolerances", now=NOW), uow
    )
    assert (updated.key, updated.label) == ("allergies", "Allergies and intolerances")
    ordered = await custom_field_handlers.reorder_custom_fields(
        commands_custom_fields.ReorderCustomFields(TENANT, (made[1].id, made[0].id)), uow
    )
    assert [f.key for f in ordered] == ["referrer", "allergies"]
    await custom_field_handlers.retire_custom_field(
        commands_custom_fields.RetireCustomField(TENANT, made[1].id, now=NOW), uow
    )
    live = await custom_field_handlers.list_custom_fields(commands_custom_fields.ListCustomFields(TENANT), uow)
    assert [f.key for f in live] == ["allergies"]
    every = await custom_field_handlers.list_custom_fields(
        commands_custom_fields.ListCustomFields(TENANT, include_retired=True), uow
    )
    assert {f.key for f in every} == {"allergies", "referrer"}
    with pytest.raises(InvalidArgument):
        await custom_field_handlers.list_custom_fields(commands_custom_fields.ListCustomFields(TENANT, form="x"), uow)
