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

from platform_core.grpc.context import CallContext, Principal, bind_call_context
from portal_requests_svc.domain import commands
from portal_requests_svc.service_layer.unit_of_work import PortalRequestsUnitOfWork


async def release_orphan_holds(cmd: commands.ReleaseOrphanHolds, uow: PortalRequestsUnitOfWork) -> list[uuid.UUID]:
    """Release the business's holds (of times from now to the request horizon) placed before ``now - grace``
    that no pending request holds; returns their ids. Call it within the business's call context."""
    tenant_id, now = cmd.tenant_id, cmd.now
    placed_before = now - cmd.grace
    candidates = [
        p.hold_id for p in await uow.scheduler.holds_between(now, now + cmd.horizon) if p.placed_at <= placed_before
    ]
    if not candidates:
        return []
    # Keeping a hold is never wrong, so the holds of pending requests are passed over without a lock; only the
    # rest are judged under the locks.
    async with uow:
        holding = await uow.requests.holding(tenant_id, candidates)
    suspects = [c for c in candidates if c not in holding]
    released: list[uuid.UUID] = []
    for hold_id in suspects:
        async with uow:
            if not await uow.requests.keeps_hold(tenant_id, hold_id):
                # Released while this transaction holds the hold's lock: a retried submission of the same request
                # waits, then places its hold anew.
                await uow.scheduler.release_hold(hold_id)
                released.append(hold_id)
            await uow.commit()
    return released


async def reconcile_holds(cmd: commands.ReconcileHolds, uow: PortalRequestsUnitOfWork) -> int:
    """One pass over every business that may have holds, each in its own call context; returns how many holds
    were given back."""
    async with uow:
        tenants = await uow.requests.tenants_with_settings()
    released = 0
    for tenant_id in tenants:
        # The reconciler acts for each business in turn.
        with bind_call_context(CallContext(tenant_id, Principal.service("portal_requests"))):
            released += len(
                await release_orphan_holds(
                    commands.ReleaseOrphanHolds(tenant_id, cmd.now, grace=cmd.grace, horizon=cmd.horizon), uow
                )
            )
    return released
