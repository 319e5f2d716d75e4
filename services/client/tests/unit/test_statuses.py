import uuid
from datetime import UTC, datetime

import pytest

from client_svc.domain import commands, events
from client_svc.domain.model import Client
from client_svc.domain.statuses import StatusCatalogue, ready_made_id, ready_made_statuses
from platform_core.errors import Conflict, FailedPrecondition, InvalidArgument

NOW = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
TENANT = uuid.uuid4()


def catalogue() -> StatusCatalogue:
    return StatusCatalogue(TENANT, ready_made_statuses(TENANT))


def test_every_tenant_starts_with_lead_active_inactive_and_active_as_default() -> None:
    c = catalogue()
    assert [s.label for s in c.live()] == ["Lead", "Active", "Inactive"]
    assert c.default.label == "Active"
    assert ready_made_id(TENANT, "lead") == ready_made_statuses(TENANT)[0].id  # stable, so seeding is idempotent
    assert ready_made_id(uuid.uuid4(), "lead") != ready_made_id(TENANT, "lead")


def test_labels_are_unique_whatever_their_case_and_tidied() -> None:
    c = catalogue()
    vip = c.create("  VIP   client ", status_id=uuid.uuid4())
    assert (vip.label, vip.position) == ("VIP client", 3)
    with pytest.raises(Conflict):
        c.create("vip CLIENT", status_id=uuid.uuid4())
    with pytest.raises(Conflict):
        c.rename(vip.id, "lead")
    with pytest.raises(InvalidArgument):
        c.create(" ", status_id=uuid.uuid4())


def test_the_default_moves_and_cannot_be_archived() -> None:
    c = catalogue()
    lead = c.live()[0]
    with pytest.raises(FailedPrecondition):
        c.archive(c.default.id, now=NOW)
    c.make_default(lead.id)
    assert c.default is lead and sum(s.is_default for s in c.statuses) == 1
    archived = c.archive(c.live()[1].id, now=NOW)
    assert archived.archived and archived not in c.live()
    # An archived label is free again.
    assert c.create(archived.label, status_id=uuid.uuid4()).label == archived.label


def test_reorder_must_name_every_live_status_once() -> None:
    c = catalogue()
    ids = [s.id for s in c.live()]
    assert [s.id for s in c.reorder(list(reversed(ids)))] == list(reversed(ids))
    for bad in (ids[:2], [*ids, ids[0]], [*ids[:2], uuid.uuid4()]):
        with pytest.raises(InvalidArgument):
            c.reorder(bad)


def test_a_status_change_is_recorded_with_both_labels_and_archived_ones_are_refused() -> None:
    c = catalogue()
    lead, active, inactive = c.live()
    client = Client.register(
        commands.CreateClient(tenant_id=TENANT, first_name="Ada", now=NOW),
        client_id=uuid.uuid4(),
        now=NOW,
        status=c.default,
    )
    client.events.clear()
    client.change_status(lead, previous=active, now=NOW)
    client.change_status(lead, previous=lead, now=NOW)  # no change, no event
    [event] = client.events
    assert isinstance(event, events.ClientStatusChanged)
    assert (event.from_label, event.to_label) == ("Active", "Lead")
    c.archive(inactive.id, now=NOW)
    with pytest.raises(FailedPrecondition):
        client.change_status(inactive, previous=lead, now=NOW)
