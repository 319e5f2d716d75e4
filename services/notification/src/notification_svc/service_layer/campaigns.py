"""Use cases of campaigns: create (checked like a template), preview the audience, send once."""

from __future__ import annotations

import re
import uuid
from dataclasses import replace
from datetime import datetime

from notification_svc.adapters.client_directory import AbstractClientDirectory
from notification_svc.adapters.message_templates import MessageTemplates
from notification_svc.domain.campaigns import (
    CAMPAIGN_KIND,
    Audience,
    CampaignDraft,
    Segment,
    audience,
    campaign_messages,
    checked_draft,
)
from notification_svc.service_layer.unit_of_work import NotificationUnitOfWork
from platform_core.errors import Conflict, InvalidArgument

_BLOCK = re.compile(r"{%-?\s*block\s+(\w+)\s*-?%}")
_TEXT_BLOCK = re.compile(r"{%-?\s*block\s+text\s*-?%}(.*?){%-?\s*endblock(?:\s+text)?\s*-?%}", re.DOTALL)
NEEDED_BLOCKS = {"email": ("subject", "text"), "sms": ("sms",)}


def with_html(source: str) -> str:
    """An email campaign written as text gets an HTML part of the same words (line breaks kept)."""
    if "html" in _BLOCK.findall(source):
        return source
    text = _TEXT_BLOCK.search(source)
    if text is None:
        return source
    return (
        source + f'{{% block html %}}<div style="white-space: pre-line">{text.group(1).strip()}</div>{{% endblock %}}'
    )


async def create_campaign(
    uow: NotificationUnitOfWork, templates: MessageTemplates, draft: CampaignDraft, *, now: datetime
) -> uuid.UUID:
    draft = checked_draft(draft)
    missing = [b for b in NEEDED_BLOCKS[draft.channel] if b not in _BLOCK.findall(draft.source)]
    if missing:
        raise InvalidArgument.single("source", f"write the blocks {', '.join(missing)} of the {draft.channel}")
    source = with_html(draft.source) if draft.channel == "email" else draft.source
    violations = templates.check_override("en", CAMPAIGN_KIND, source)
    if violations:
        raise InvalidArgument(violations)
    campaign_id = uuid.uuid4()
    async with uow:
        await uow.campaigns.add(
            campaign_id,
            replace(draft, source=source),
            now,
        )
        await uow.commit()
    return campaign_id


async def campaign_audience(
    uow: NotificationUnitOfWork, segments: AbstractClientDirectory, tenant_id: uuid.UUID, segment: Segment, channel: str
) -> Audience:
    members = await segments.members(segment)
    async with uow:
        switched_off = await uow.preferences.opted_out(tenant_id, [m.client_id for m in members])
    return audience(
        members, channel, {c for c, category, ch in switched_off if (category, ch) == ("marketing", channel)}
    )


async def send_campaign(
    uow: NotificationUnitOfWork,
    segments: AbstractClientDirectory,
    tenant_id: uuid.UUID,
    campaign_id: uuid.UUID,
    segment: Segment,
    channel: str,
    rate_per_minute: int,
    *,
    now: datetime,
    max_attempts: int,
) -> int:
    """The segment as it is now, one message each, due at the campaign's rate; once (the database decides
    between two sends of the same campaign)."""
    members = await segments.members(segment)
    planned = campaign_messages(
        tenant_id, campaign_id, channel, rate_per_minute, members, now=now, max_attempts=max_attempts
    )
    async with uow:
        if not await uow.campaigns.start(tenant_id, campaign_id, len(planned), now):
            raise Conflict("the campaign was sent already", reason="CAMPAIGN_ALREADY_SENT")
        await uow.messages.plan(planned, now)
        await uow.commit()
    return len(planned)
