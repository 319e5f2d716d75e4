import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from notification_svc.domain.commands import RecordActivity
from notification_svc.domain.model import ActivityEntry, client_created_summary
from notification_svc.service_layer import handlers
from platform_core.errors import InvalidArgument

from .fakes import FakeUnitOfWork

WHEN = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def command(**overrides: Any) -> RecordActivity:
    values = dict(
        tenant_id=uuid.uuid4(),
        client_id=uuid.uuid4(),
        kind="client.created",
        summary="Client  Ada   Lovelace was added",
        occurred_at=WHEN,
        source_event_id=uuid.uuid4(),
        source_event_type="atrium.client.v1.ClientCreated",
    )
    return RecordActivity(**(values | overrides))


def test_an_entry_keeps_its_source_event_and_tidies_the_summary() -> None:
    cmd = command()
    entry = ActivityEntry.record(cmd, entry_id=uuid.uuid4())
    assert entry.summary == "Client Ada Lovelace was added"
    assert (entry.source_event_id, entry.occurred_at) == (cmd.source_event_id, WHEN)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"kind": "Created"}, "kind"),
        ({"summary": "   "}, "summary"),
        ({"occurred_at": datetime(2026, 1, 1)}, "occurred_at"),
    ],
)
def test_invalid_entries_are_refused_by_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgument) as exc:
        ActivityEntry.record(command(**overrides), entry_id=uuid.uuid4())
    assert [v.field for v in exc.value.violations] == [field]


def test_summary_names_the_client_or_says_it_is_unnamed() -> None:
    assert client_created_summary("Ada", "") == "Client Ada was added"
    assert client_created_summary(" ", " ") == "Client Unnamed client was added"


async def test_record_activity_commits_one_entry() -> None:
    uow = FakeUnitOfWork()
    entry = await handlers.record_activity(command(), uow)
    assert uow.committed
    assert uow.activity.entries == [entry]
