"""Use cases of the notification service."""

from __future__ import annotations

from notification_svc.domain.model import ActivityEntry, RecordActivity
from notification_svc.service_layer.unit_of_work import NotificationUnitOfWork
from platform_core.ids import new_id


async def record_activity(cmd: RecordActivity, uow: NotificationUnitOfWork) -> ActivityEntry:
    async with uow:
        entry = ActivityEntry.record(cmd, entry_id=new_id())
        uow.activity.add(entry)
        await uow.commit()
        return entry
