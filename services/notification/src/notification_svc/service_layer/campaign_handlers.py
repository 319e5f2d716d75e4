"""Use cases of campaigns: create (checked like a template), preview the audience, send once."""

from __future__ import annotations

import uuid
from dataclasses import replace

from notification_svc.domain import commands
from notification_svc.domain.campaigns import (
    CAMPAIGN_KIND,
    Audience,
    CampaignDraft,
    audience,
    campaign_messages,
    checked_draft,
    missing_blocks,
    with_html,
)
from notification_svc.service_layer.unit_of_work import NotificationUnitOfWork
from platform_core.errors import Conflict, InvalidArgument


async def create_campaign(cmd: commands.CreateCampaign, uow: NotificationUnitOfWork) -> uuid.UUID:
    draft = checked_draft(
        CampaignDraft(
            tenant_id=cmd.tenant_id,
            name=cmd.name,
            channel=cmd.channel,
            segment=cmd.segment,
            source=cmd.source,
            rate_per_minute=cmd.rate_per_minute,
            created_by=cmd.created_by,
        )
    )
    missing = missing_blocks(draft.channel, draft.source)
    if missing:
        raise InvalidArgument.single("source", f"write the blocks {', '.join(missing)} of the {draft.channel}")
    source = with_html(draft.source) if draft.channel == "email" else draft.source
    violations = uow.message_templates.check_override("en", CAMPAIGN_KIND, source)
    if violations:
        raise InvalidArgument(violations)
    campaign_id = uuid.uuid4()
    async with uow:
        await uow.campaigns.add(campaign_id, replace(draft, source=source), cmd.now)
        await uow.commit()
    return campaign_id


async def preview_campaign_audience(cmd: commands.PreviewCampaignAudience, uow: NotificationUnitOfWork) -> Audience:
    members = await uow.client_directory.members(cmd.segment)
    async with uow:
        switched_off = await uow.preferences.opted_out(cmd.tenant_id, [m.client_id for m in members])
    channel = cmd.channel
    return audience(
        members, channel, {c for c, category, ch in switched_off if (category, ch) == ("marketing", channel)}
    )


async def send_campaign(cmd: commands.SendCampaign, uow: NotificationUnitOfWork) -> int:
    """The segment as it is now, one message each, due at the campaign's rate; once (the database decides
    between two sends of the same campaign)."""
    members = await uow.client_directory.members(cmd.segment)
    planned = campaign_messages(
        cmd.tenant_id,
        cmd.campaign_id,
        cmd.channel,
        cmd.rate_per_minute,
        members,
        now=cmd.now,
        max_attempts=cmd.max_attempts,
    )
    async with uow:
        if not await uow.campaigns.start(cmd.tenant_id, cmd.campaign_id, len(planned), cmd.now):
            raise Conflict("the campaign was sent already", reason="CAMPAIGN_ALREADY_SENT")
        await uow.messages.plan(planned, cmd.now)
        await uow.commit()
    return len(planned)
