"""Use cases of the timeline (entries recorded from events, following merges and erasure) and of the portal
invitation email."""

from __future__ import annotations

import dataclasses
import uuid

from notification_svc.domain import commands
from notification_svc.domain.emails import OutgoingEmail, SentEmail, greeting_name, message_id_for
from notification_svc.domain.merges import (
    MergeNotSeenYet,
    Placement,
    Source,
    merged_summary,
    moves_for,
    unmerged_summary,
)
from notification_svc.domain.model import ActivityEntry, anonymous_summary
from notification_svc.service_layer.unit_of_work import NotificationUnitOfWork
from platform_core.ids import new_id


async def record_activity(cmd: commands.RecordActivity, uow: NotificationUnitOfWork) -> ActivityEntry:
    async with uow:
        entry = await _record(cmd, uow)
        await uow.commit()
        return entry


async def record_activities(cmd: commands.RecordActivities, uow: NotificationUnitOfWork) -> list[ActivityEntry]:
    """Several events' entries of one business at once, as recording each in turn would (where an entry goes
    depends on merges and erasures only, which recording never changes)."""
    async with uow:
        placements = await uow.timeline.placements(cmd.tenant_id, [e.client_id for e in cmd.entries])
        entries = [_placed(e, placements[e.client_id], uow) for e in cmd.entries]
        moves = [
            m
            for e, entry in zip(cmd.entries, entries, strict=True)
            for m in moves_for(placements[e.client_id], entry.id)
        ]
        await uow.timeline.remember_moves(cmd.tenant_id, moves)
        await uow.commit()
        return entries


async def send_portal_invitation(cmd: commands.SendPortalInvitation, uow: NotificationUnitOfWork) -> bool:
    """Email the invitation link, once per event: the claim is written first, in the same transaction, so a
    redelivered event finds it and sends nothing; a failed send rolls the claim back for the retry."""
    content = uow.email_templates.render(
        "portal_invitation",
        name=greeting_name(cmd.client_first_name, cmd.client_last_name),
        business_name=cmd.business_name or "Your business",
        accept_url=cmd.accept_url,
        expires_at=cmd.expires_at.strftime("%d %B %Y, %H:%M UTC"),
    )
    email = OutgoingEmail(cmd.email, content.subject, content.text, content.html, message_id_for(cmd.source_event_id))
    async with uow:
        claimed = await uow.emails.claim(
            SentEmail(
                tenant_id=cmd.tenant_id,
                id=new_id(),
                client_id=cmd.client_id,
                kind="portal.invitation",
                to_address=cmd.email,
                subject=email.subject,
                message_id=email.message_id,
                transport=uow.email_sender.transport,
                source_event_id=cmd.source_event_id,
            )
        )
        if not claimed:
            return False
        await uow.email_sender.send(email)
        await uow.commit()
        return True


async def _record(cmd: commands.RecordActivity, uow: NotificationUnitOfWork) -> ActivityEntry:
    """On the client's timeline, or on the survivor's when the client is merged away; details dropped when
    the client's data was erased."""
    placement = await uow.timeline.placement(cmd.tenant_id, cmd.client_id)
    entry = _placed(cmd, placement, uow)
    await uow.timeline.remember_moves(cmd.tenant_id, moves_for(placement, entry.id))
    return entry


def _placed(cmd: commands.RecordActivity, placement: Placement, uow: NotificationUnitOfWork) -> ActivityEntry:
    entry = ActivityEntry.record(dataclasses.replace(cmd, client_id=placement.target), entry_id=new_id())
    if placement.erased:
        entry.anonymize(now=uow.clock())
    uow.activity.add(entry)
    return entry


def _entry(
    tenant_id: uuid.UUID, client_id: uuid.UUID, kind: str, summary: str, source: Source
) -> commands.RecordActivity:
    return commands.RecordActivity(
        tenant_id=tenant_id,
        client_id=client_id,
        kind=kind,
        summary=summary,
        occurred_at=source.occurred_at,
        source_event_id=source.event_id,
        source_event_type=source.event_type,
    )


async def follow_merge(cmd: commands.FollowMerge, uow: NotificationUnitOfWork) -> int:
    """The merged clients' entries show on the survivor's timeline (each move remembered); returns how many."""
    async with uow:
        await uow.timeline.open_merge(
            cmd.tenant_id, cmd.merge_id, cmd.survivor_id, cmd.merged_ids, cmd.source.occurred_at
        )
        moved = await uow.timeline.move_entries(cmd.tenant_id, cmd.merge_id, cmd.survivor_id, cmd.merged_ids)
        summary = merged_summary(len(cmd.merged_ids))
        await _record(_entry(cmd.tenant_id, cmd.survivor_id, "client.merged", summary, cmd.source), uow)
        await uow.commit()
        return moved


async def follow_unmerge(cmd: commands.FollowUnmerge, uow: NotificationUnitOfWork) -> int:
    """Every entry the merge moved goes back to its original client; returns how many."""
    async with uow:
        closed = await uow.timeline.close_merge(cmd.tenant_id, cmd.merge_id, cmd.source.occurred_at)
        if closed is None:
            raise MergeNotSeenYet(f"merge {cmd.merge_id} not seen yet")
        returned = await uow.timeline.return_entries(cmd.tenant_id, cmd.merge_id)
        summary = unmerged_summary(len(cmd.restored_ids))
        await _record(_entry(cmd.tenant_id, cmd.survivor_id, "client.unmerged", summary, cmd.source), uow)
        await uow.commit()
        return returned


async def forget_client(cmd: commands.ForgetClient, uow: NotificationUnitOfWork) -> None:
    """Anonymize the client's entries, now and for whatever arrives about it later; the erasure itself is
    on the timeline (once, on the client's own: a client merged away is erased with its survivor)."""
    async with uow:
        now = uow.clock()
        await uow.timeline.mark_erased(cmd.tenant_id, cmd.client_id, now)
        for entry in await uow.timeline.entries_of(cmd.tenant_id, cmd.client_id):
            entry.anonymize(now=now)
        placement = await uow.timeline.placement(cmd.tenant_id, cmd.client_id)
        if not placement.hops:
            kind = "client.erased"
            await _record(_entry(cmd.tenant_id, cmd.client_id, kind, anonymous_summary(kind), cmd.source), uow)
        await uow.commit()
