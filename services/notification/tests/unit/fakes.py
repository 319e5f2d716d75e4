"""In-memory fakes of the notification unit of work and its ports, for the handlers' unit tests (no database,
no broker, no other service)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from notification_svc.adapters.activity_repository import AbstractActivityRepository
from notification_svc.adapters.email_repository import AbstractSentEmailRepository
from notification_svc.adapters.email_sender import AbstractEmailSender
from notification_svc.adapters.timeline_repository import AbstractTimelineRepository
from notification_svc.domain.emails import OutgoingEmail, SentEmail
from notification_svc.domain.merges import EntryMove, OpenMerge, Placement
from notification_svc.domain.model import ActivityEntry
from notification_svc.service_layer.unit_of_work import NotificationPorts, NotificationUnitOfWork

NOW = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class FakeActivityRepository(AbstractActivityRepository):
    def __init__(self) -> None:
        super().__init__()
        self.entries: list[ActivityEntry] = []

    def _add(self, entry: ActivityEntry) -> None:
        self.entries.append(entry)


class FakeTimeline(AbstractTimelineRepository):
    def __init__(self, activity: FakeActivityRepository) -> None:
        self.activity = activity
        self.merges: dict[tuple[uuid.UUID, uuid.UUID], OpenMerge] = {}  # (merge, merged client) -> merge
        self.unmerged: set[uuid.UUID] = set()
        self.moves: list[EntryMove] = []
        self.erased: set[uuid.UUID] = set()

    def _open(self, client_id: uuid.UUID) -> OpenMerge | None:
        return next(
            (m for m in self.merges.values() if m.merged_client_id == client_id and m.merge_id not in self.unmerged),
            None,
        )

    async def placement(self, tenant_id: uuid.UUID, client_id: uuid.UUID) -> Placement:
        hops: list[OpenMerge] = []
        current = client_id
        while (hop := self._open(current)) is not None:
            hops.append(hop)
            current = hop.survivor_id
        return Placement(client_id, tuple(hops), bool({client_id, current} & self.erased))

    async def remember_moves(self, tenant_id: uuid.UUID, moves: Sequence[EntryMove]) -> None:
        self.moves += moves

    async def open_merge(
        self,
        tenant_id: uuid.UUID,
        merge_id: uuid.UUID,
        survivor_id: uuid.UUID,
        merged: Sequence[uuid.UUID],
        at: datetime,
    ) -> None:
        for client_id in merged:
            self.merges[(merge_id, client_id)] = OpenMerge(merge_id, client_id, survivor_id)

    async def move_entries(
        self, tenant_id: uuid.UUID, merge_id: uuid.UUID, survivor_id: uuid.UUID, merged: Sequence[uuid.UUID]
    ) -> int:
        moved = [e for e in self.activity.entries if e.client_id in merged]
        for entry in moved:
            self.moves.append(EntryMove(merge_id, entry.id, entry.client_id))
            entry.client_id = survivor_id
        return len(moved)

    async def close_merge(self, tenant_id: uuid.UUID, merge_id: uuid.UUID, at: datetime) -> bool | None:
        if not any(key[0] == merge_id for key in self.merges):
            return None
        if merge_id in self.unmerged:
            return False
        self.unmerged.add(merge_id)
        return True

    async def return_entries(self, tenant_id: uuid.UUID, merge_id: uuid.UUID) -> int:
        done = [m for m in self.moves if m.merge_id == merge_id]
        self.moves = [m for m in self.moves if m.merge_id != merge_id]
        by_id = {e.id: e for e in self.activity.entries}
        for move in done:
            by_id[move.entry_id].client_id = move.original_client_id
        return len(done)

    async def mark_erased(self, tenant_id: uuid.UUID, client_id: uuid.UUID, at: datetime) -> None:
        self.erased.add(client_id)

    async def entries_of(self, tenant_id: uuid.UUID, client_id: uuid.UUID) -> list[ActivityEntry]:
        return [e for e in self.activity.entries if e.client_id == client_id]


class FakeSentEmails(AbstractSentEmailRepository):
    """Claims of this transaction stay pending until it commits."""

    def __init__(self) -> None:
        self.committed: dict[uuid.UUID, SentEmail] = {}
        self.pending: dict[uuid.UUID, SentEmail] = {}

    async def claim(self, email: SentEmail) -> bool:
        if email.source_event_id in self.committed or email.source_event_id in self.pending:
            return False
        self.pending[email.source_event_id] = email
        return True


class FakeEmailSender(AbstractEmailSender):
    transport = "smtp"

    def __init__(self, fail: bool = False) -> None:
        self.sent: list[OutgoingEmail] = []
        self.fail = fail

    async def send(self, email: OutgoingEmail) -> None:
        if self.fail:
            raise ConnectionError("the mail server is down")
        self.sent.append(email)


class FakeUnitOfWork(NotificationUnitOfWork):
    def __init__(self, ports: NotificationPorts | None = None) -> None:
        self.activity = FakeActivityRepository()
        self.timeline = FakeTimeline(self.activity)
        self.emails = FakeSentEmails()
        self.repositories = (self.activity,)
        self.committed = False
        self._connect(ports or NotificationPorts(clock=FakeClock(), email_sender=FakeEmailSender()))

    async def _start(self) -> None:
        self.emails.pending = {}

    async def _commit(self, events: list[Any]) -> None:
        self.emails.committed |= self.emails.pending
        self.emails.pending = {}
        self.committed = True

    async def rollback(self) -> None:
        self.emails.pending = {}

    async def _close(self) -> None:
        await self.rollback()
