from __future__ import annotations

import abc

from sqlalchemy.ext.asyncio import AsyncSession

from notification_svc.domain.model import ActivityEntry


class AbstractActivityRepository(abc.ABC):
    def __init__(self) -> None:
        self.seen: set[ActivityEntry] = set()

    def add(self, entry: ActivityEntry) -> None:
        self._add(entry)
        self.seen.add(entry)

    @abc.abstractmethod
    def _add(self, entry: ActivityEntry) -> None: ...


class SqlAlchemyActivityRepository(AbstractActivityRepository):
    def __init__(self, session: AsyncSession) -> None:
        super().__init__()
        self.session = session

    def _add(self, entry: ActivityEntry) -> None:
        self.session.add(entry)
