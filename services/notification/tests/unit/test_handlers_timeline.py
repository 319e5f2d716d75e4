"""The timeline follows merges, their undoing and erasure (fakes, no database)."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from notification_svc.domain.commands import FollowMerge, FollowUnmerge, ForgetClient, RecordActivity
from notification_svc.domain.merges import (
    MergeNotSeenYet,
    Source,
    merged_summary,
    unmerged_summary,
)
from notification_svc.domain.model import ActivityEntry, anonymous_summary
from notification_svc.service_layer import handlers

from .fakes import FakeUnitOfWork

TENANT = uuid.uuid4()
T0 = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)


def source(minutes: int = 0) -> Source:
    return Source(T0 + timedelta(minutes=minutes), uuid.uuid4(), "atrium.client.v1.Something")


async def record(
    uow: FakeUnitOfWork, client_id: uuid.UUID, summary: str, kind: str = "client.updated"
) -> ActivityEntry:
    src = source()
    return await handlers.record_activity(
        RecordActivity(TENANT, client_id, kind, summary, src.occurred_at, src.event_id, src.event_type), uow
    )


def timeline(uow: FakeUnitOfWork, client_id: uuid.UUID) -> list[str]:
    return sorted(e.summary for e in uow.activity.entries if e.client_id == client_id)


async def test_a_merge_moves_the_entries_to_the_survivor_and_an_unmerge_returns_them(uow: FakeUnitOfWork) -> None:
    survivor, duplicate = uuid.uuid4(), uuid.uuid4()
    await record(uow, survivor, "survivor's")
    await record(uow, duplicate, "duplicate's")
    merge_id = uuid.uuid4()
    moved = await handlers.follow_merge(FollowMerge(TENANT, merge_id, survivor, (duplicate,), source(1)), uow)
    assert moved == 1
    assert timeline(uow, survivor) == ["Merged with 1 duplicate client", "duplicate's", "survivor's"]
    assert timeline(uow, duplicate) == []

    await record(uow, survivor, "after the merge")
    await record(uow, duplicate, "late event about the duplicate")  # lands on the survivor, remembered
    assert "late event about the duplicate" in timeline(uow, survivor)

    returned = await handlers.follow_unmerge(FollowUnmerge(TENANT, merge_id, survivor, (duplicate,), source(2)), uow)
    assert returned == 2
    assert timeline(uow, duplicate) == ["duplicate's", "late event about the duplicate"]
    assert timeline(uow, survivor) == [
        "Merge undone: 1 duplicate client separated again",
        "Merged with 1 duplicate client",
        "after the merge",
        "survivor's",
    ]


async def test_chained_merges_return_entries_one_step_per_unmerge(uow: FakeUnitOfWork) -> None:
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await record(uow, a, "a's")
    first, second = uuid.uuid4(), uuid.uuid4()
    await handlers.follow_merge(FollowMerge(TENANT, first, b, (a,), source(1)), uow)
    await handlers.follow_merge(FollowMerge(TENANT, second, c, (b,), source(2)), uow)
    late = await record(uow, a, "late a's")
    assert late.client_id == c
    await handlers.follow_unmerge(FollowUnmerge(TENANT, second, c, (b,), source(3)), uow)
    assert "a's" in timeline(uow, b) and "late a's" in timeline(uow, b)
    await handlers.follow_unmerge(FollowUnmerge(TENANT, first, b, (a,), source(4)), uow)
    assert timeline(uow, a) == ["a's", "late a's"]


async def test_an_unmerge_before_its_merge_is_retried_not_dropped(uow: FakeUnitOfWork) -> None:
    with pytest.raises(MergeNotSeenYet):
        await handlers.follow_unmerge(FollowUnmerge(TENANT, uuid.uuid4(), uuid.uuid4(), (uuid.uuid4(),), source()), uow)
    assert not uow.committed


async def test_erasure_anonymizes_what_is_there_and_what_comes_later(uow: FakeUnitOfWork) -> None:
    client = uuid.uuid4()
    await record(uow, client, "Client Grace Hopper was added", kind="client.created")
    await record(uow, client, "Online booking blocked: rude to staff", kind="client.booking_blocked")
    await handlers.forget_client(ForgetClient(TENANT, client, source(5)), uow)
    await record(uow, client, "Status changed from Lead to Deceased", kind="client.status_changed")
    entries = {e.kind: e for e in uow.activity.entries if e.client_id == client}
    assert {kind: e.summary for kind, e in entries.items()} == {
        "client.created": "Client was added",
        "client.booking_blocked": "Online booking blocked",
        "client.erased": "Personal data erased",
        "client.status_changed": "Status changed",
    }
    assert all(e.anonymized_at for e in entries.values())
    assert entries["client.created"].occurred_at == T0  # when it happened is kept


async def test_a_client_erased_with_its_survivor_adds_no_second_erasure_entry(uow: FakeUnitOfWork) -> None:
    survivor, duplicate = uuid.uuid4(), uuid.uuid4()
    await handlers.follow_merge(FollowMerge(TENANT, uuid.uuid4(), survivor, (duplicate,), source(1)), uow)
    await handlers.forget_client(ForgetClient(TENANT, survivor, source(2)), uow)
    await handlers.forget_client(ForgetClient(TENANT, duplicate, source(3)), uow)
    kinds = [e.kind for e in uow.activity.entries if e.client_id == survivor]
    assert sorted(kinds) == ["client.erased", "client.merged"]


def test_summaries() -> None:
    assert merged_summary(2) == "Merged with 2 duplicate clients"
    assert unmerged_summary(1) == "Merge undone: 1 duplicate client separated again"
    assert anonymous_summary("client.something_new") == "Activity recorded"
