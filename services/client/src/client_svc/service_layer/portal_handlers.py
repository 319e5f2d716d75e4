"""Recording portal invitations and access changes (each once, by the caller's id) for their events."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from client_svc.domain import commands_portal as commands
from client_svc.domain.model import Client
from client_svc.domain.portal import PortalRecord
from client_svc.service_layer.unit_of_work import PORTAL_RECORDED, ClientUnitOfWork
from platform_core.errors import Conflict, NotFound


async def _record(
    uow: ClientUnitOfWork,
    tenant_id: uuid.UUID,
    record_id: uuid.UUID,
    client_id: uuid.UUID,
    make: Callable[[Client], PortalRecord],
) -> bool:
    try:
        async with uow:
            if await uow.portal.exists(tenant_id, record_id):
                return False
            client = await uow.clients.get(tenant_id, client_id)
            if client is None:
                raise NotFound("client not found")
            uow.portal.add(make(client))
            await uow.commit()
            return True
    except Conflict as exc:
        if exc.reason == PORTAL_RECORDED:
            return False  # a concurrent retry recorded it first
        raise


async def record_invitation(cmd: commands.IssueInvitation, uow: ClientUnitOfWork) -> bool:
    """True when recorded now (PortalInvitationIssued emitted); False when this invitation was recorded before."""
    return await _record(
        uow,
        cmd.tenant_id,
        cmd.invitation_id,
        cmd.client_id,
        lambda client: PortalRecord.invitation(cmd, client=client, now=cmd.now),
    )


async def record_access_change(cmd: commands.ChangePortalAccess, uow: ClientUnitOfWork) -> bool:
    """True when recorded now (PortalAccessChanged emitted); False when this change was recorded before."""
    return await _record(
        uow,
        cmd.tenant_id,
        cmd.change_id,
        cmd.client_id,
        lambda client: PortalRecord.access_change(
            cmd.tenant_id, cmd.change_id, client=client, enabled=cmd.enabled, now=cmd.now
        ),
    )
