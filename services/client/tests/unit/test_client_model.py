import uuid
from datetime import UTC, datetime

import pytest

from client_svc.domain import commands, events
from client_svc.domain.model import Client
from platform_core.errors import InvalidArgument

NOW = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
TENANT = uuid.uuid4()


def register(**fields: str) -> Client:
    values = {"first_name": "Ada", "default_region": "US"} | fields
    return Client.register(commands.CreateClient(tenant_id=TENANT, **values, now=NOW), client_id=uuid.uuid4(), now=NOW)


def violations(exc: pytest.ExceptionInfo[InvalidArgument]) -> dict[str, str]:
    return {v.field: v.message for v in exc.value.violations}


def test_a_new_client_records_a_client_created_event() -> None:
    client = register(last_name=" Lovelace ", email="Ada@Example.COM")
    assert client.last_name == "Lovelace"
    assert client.email == "Ada@example.com"  # the domain part is normalized, the local part kept
    [event] = client.events
    assert isinstance(event, events.ClientCreated)
    assert (event.client_id, event.tenant_id, event.occurred_at) == (client.id, TENANT, NOW)


@pytest.mark.parametrize("typed", ["(212) 555-0142", "+1 212 555 0142", "2125550142", "212.555.0142"])
def test_phone_numbers_typed_any_way_are_stored_in_e164(typed: str) -> None:
    assert register(phone=typed).phone == "+12125550142"


def test_a_national_number_needs_a_region_or_a_country_code() -> None:
    with pytest.raises(InvalidArgument) as exc:
        register(phone="2125550142", default_region="")
    assert "phone" in violations(exc)
    assert register(phone="+44 20 7946 0958", default_region="").phone == "+442079460958"


def test_every_broken_rule_is_reported_at_once_by_field() -> None:
    with pytest.raises(InvalidArgument) as exc:
        register(first_name="  ", email="not-an-email", phone="12", last_name="x" * 101)
    assert set(violations(exc)) == {"first_name", "email", "phone", "last_name"}


def test_an_unknown_region_is_refused() -> None:
    with pytest.raises(InvalidArgument) as exc:
        register(default_region="XX")
    assert "default_region" in violations(exc)


def test_names_are_limited_in_length() -> None:
    with pytest.raises(InvalidArgument) as exc:
        register(first_name="x" * 101)
    assert violations(exc)["first_name"].startswith("must be at most")
