import uuid
from datetime import UTC, date, datetime

import pytest

from atrium.client.v1 import events_pb2
from client_svc.adapters.event_mapping import to_envelope
from client_svc.domain import commands, events
from client_svc.domain.model import Client
from client_svc.domain.profile import Address, ProfileInput
from platform_core.errors import InvalidArgument

NOW = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
TENANT = uuid.uuid4()


def register(first_name: str = "Ada", **profile: object) -> Client:
    return Client.register(
        commands.CreateClient(tenant_id=TENANT, first_name=first_name, profile=ProfileInput(**profile), now=NOW),  # type: ignore[arg-type]
        client_id=uuid.uuid4(),
        now=NOW,
    )


def fields_of(exc: pytest.ExceptionInfo[InvalidArgument]) -> set[str]:
    return {v.field for v in exc.value.violations}


def test_a_business_needs_a_company_name_but_no_first_name() -> None:
    business = register(first_name="", kind="business", company_name=" Acme   Repairs ")
    assert (business.kind, business.company_name, business.first_name) == ("business", "Acme Repairs", "")
    with pytest.raises(InvalidArgument) as exc:
        register(first_name="", kind="business")
    assert fields_of(exc) == {"profile.company_name"}
    with pytest.raises(InvalidArgument) as exc:
        register(first_name="")
    assert fields_of(exc) == {"first_name"}


def test_every_profile_field_is_checked_and_named() -> None:
    with pytest.raises(InvalidArgument) as exc:
        register(
            kind="robot",
            date_of_birth="2027-01-01",
            preferred_language="English",
            timezone="Mars/Olympus",
            source="fax",
            default_invoicing_method="pigeon",
            opening_balance_minor=500,
            address=Address(country="USA"),
        )
    assert fields_of(exc) == {
        "profile.kind",
        "profile.date_of_birth",
        "profile.preferred_language",
        "profile.timezone",
        "profile.source",
        "profile.default_invoicing_method",
        "profile.opening_balance.currency",
        "profile.address.country",
    }


def test_a_valid_profile_is_kept_and_the_opening_balance_travels_in_client_created() -> None:
    client = register(
        date_of_birth="1990-04-23",
        preferred_language="fr-CA",
        timezone="America/Toronto",
        source="import",
        opening_balance_minor=-1250,
        opening_balance_currency="cad",
        address=Address(city=" Montréal ", country="ca"),
    )
    assert client.date_of_birth == date(1990, 4, 23)
    assert (client.address_city, client.address_country) == ("Montréal", "CA")
    [event] = client.events
    assert isinstance(event, events.ClientCreated)
    assert (event.opening_balance_minor, event.opening_balance_currency, event.source) == (-1250, "CAD", "import")


def test_changing_the_profile_is_one_recorded_change() -> None:
    client = register()
    client.events.clear()
    client.update(
        commands.UpdateClient(TENANT, client.id, profile=ProfileInput(timezone="Europe/Berlin"), now=NOW), now=NOW
    )
    [event] = client.events
    assert isinstance(event, events.ClientUpdated) and event.changed_fields == ("profile",)
    assert client.timezone == "Europe/Berlin"


def test_client_created_and_updated_carry_the_language_and_zone_messages_use() -> None:
    client = register(preferred_language="de-AT", timezone="Europe/Vienna")
    created = events_pb2.ClientCreated()
    assert to_envelope(client.events[0]).payload.Unpack(created)
    assert (created.preferred_language, created.timezone) == ("de-AT", "Europe/Vienna")

    client.events.clear()
    profile = ProfileInput(preferred_language="fr-CA", timezone="America/Toronto")
    client.update(commands.UpdateClient(TENANT, client.id, profile=profile, now=NOW), now=NOW)
    updated = events_pb2.ClientUpdated()
    assert to_envelope(client.events[0]).payload.Unpack(updated)
    assert (updated.preferred_language, updated.timezone, list(updated.changed_fields)) == (
        "fr-CA",
        "America/Toronto",
        ["profile"],
    )
    # Any other change restates them, so the newest event alone tells the notification service.
    client.events.clear()
    client.update(commands.UpdateClient(TENANT, client.id, first_name="Adele", now=NOW), now=NOW)
    renamed = events_pb2.ClientUpdated()
    assert to_envelope(client.events[0]).payload.Unpack(renamed)
    assert (renamed.first_name, renamed.preferred_language, renamed.timezone) == ("Adele", "fr-CA", "America/Toronto")


def test_an_opening_balance_in_a_currency_that_does_not_exist_is_refused() -> None:
    with pytest.raises(InvalidArgument) as exc:
        register(opening_balance_minor=500, opening_balance_currency="QQQ")
    assert fields_of(exc) == {"profile.opening_balance.currency"}
