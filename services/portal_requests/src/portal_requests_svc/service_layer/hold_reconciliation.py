"""Self-healing tentative holds. A submission places its request's hold in scheduling before its own transaction
commits; when that transaction then fails and the client never retries, scheduling keeps a hold that no request
owns, and the time stays blocked. The reconciler gives such holds back.

It is exact, not a guess by age: each hold is judged under the hold's lock (which a submission takes before it
places the hold, and keeps until it commits or rolls back) and the request's row lock (which every change of a
request's hold takes), so a submission still in flight is waited for, and while a hold is released nothing can
place or move it. The grace period only spares the holds of submissions that are likely still running.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from portal_requests_svc.adapters.scheduler import AbstractScheduler
from portal_requests_svc.service_layer.handlers import UowFactory


async def release_orphan_holds(
    uow_factory: UowFactory,
    scheduler: AbstractScheduler,
    tenant_id: uuid.UUID,
    now: datetime,
    *,
    grace: timedelta,
    horizon: timedelta,
) -> list[uuid.UUID]:
    """Release the business's holds (of times from now to the request horizon) placed before ``now - grace``
    that no pending request holds; returns their ids. Call it within the business's call context."""
    placed_before = now - grace
    candidates = [p.hold_id for p in await scheduler.holds_between(now, now + horizon) if p.placed_at <= placed_before]
    if not candidates:
        return []
    # Keeping a hold is never wrong, so the holds of pending requests are passed over without a lock; only the
    # rest are judged under the locks.
    async with uow_factory() as uow:
        holding = await uow.requests.holding(tenant_id, candidates)
    suspects = [c for c in candidates if c not in holding]
    released: list[uuid.UUID] = []
    for hold_id in suspects:
        async with uow_factory() as uow:
            if not await uow.requests.keeps_hold(tenant_id, hold_id):
                # Released while this transaction holds the hold's lock: a retried submission of the same request
                # waits, then places its hold anew.
                await scheduler.release_hold(hold_id)
                released.append(hold_id)
            await uow.commit()
    return released
