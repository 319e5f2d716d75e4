"""Campaigns: one marketing message to a segment of clients (group, status, tag), sent once.

Sending plans one message per client of the segment, due at staggered times so that no more than the
campaign's rate per minute are handed over; the dispatcher delivers them like any message (leased with
SKIP LOCKED by any replica, each once, surviving restarts), skipping with the reason those who opted out of
marketing on the channel or have no address for it. The report counts the campaign's messages by state.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from notification_svc.domain.delivery import PlannedMessage, Recipient
from platform_core.validation import Violations

CAMPAIGN_KIND = "marketing.campaign"
CAMPAIGN_CHANNELS = ("email", "sms")
MAX_RATE_PER_MINUTE = 6000
MAX_NAME_LENGTH = 200
_BLOCK = re.compile(r"{%-?\s*block\s+(\w+)\s*-?%}")
_TEXT_BLOCK = re.compile(r"{%-?\s*block\s+text\s*-?%}(.*?){%-?\s*endblock(?:\s+text)?\s*-?%}", re.DOTALL)
NEEDED_BLOCKS = {"email": ("subject", "text"), "sms": ("sms",)}


@dataclass(frozen=True)
class Segment:
    group_id: uuid.UUID | None = None
    status_id: uuid.UUID | None = None
    tag: str = ""


@dataclass(frozen=True)
class CampaignDraft:
    tenant_id: uuid.UUID
    name: str
    channel: str
    segment: Segment
    source: str
    rate_per_minute: int
    created_by: str


@dataclass(frozen=True)
class Member:
    """A client of the segment, as the client service knows it now."""

    client_id: uuid.UUID
    email: str
    phone: str


def checked_draft(draft: CampaignDraft) -> CampaignDraft:
    violations = Violations()
    name = " ".join(draft.name.split())
    if not name or len(name) > MAX_NAME_LENGTH:
        violations.add("name", f"is required, at most {MAX_NAME_LENGTH} characters")
    if draft.channel not in CAMPAIGN_CHANNELS:
        violations.add("channel", f"must be one of {', '.join(CAMPAIGN_CHANNELS)}")
    if not 1 <= draft.rate_per_minute <= MAX_RATE_PER_MINUTE:
        violations.add("rate_per_minute", f"must be between 1 and {MAX_RATE_PER_MINUTE}")
    if draft.channel == "email" and "unsubscribe_url" not in draft.source:
        # The List-Unsubscribe headers go with every marketing email; the body must offer the link too.
        violations.add("source", "a marketing email must show its {{ unsubscribe_url }}")
    violations.raise_if_any()
    return CampaignDraft(
        draft.tenant_id, name, draft.channel, draft.segment, draft.source, draft.rate_per_minute, draft.created_by
    )


def missing_blocks(channel: str, source: str) -> list[str]:
    """The blocks a campaign on ``channel`` must write and ``source`` does not."""
    return [b for b in NEEDED_BLOCKS[channel] if b not in _BLOCK.findall(source)]


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


def send_times(start: datetime, count: int, rate_per_minute: int) -> list[datetime]:
    """When each of ``count`` messages is due: ``rate_per_minute`` in each minute from ``start``."""
    step = timedelta(minutes=1) / rate_per_minute
    return [start + step * i for i in range(count)]


def campaign_messages(
    tenant_id: uuid.UUID,
    campaign_id: uuid.UUID,
    channel: str,
    rate_per_minute: int,
    members: list[Member],
    *,
    now: datetime,
    max_attempts: int,
) -> list[PlannedMessage]:
    """One message per member (the campaign is their source: planned once per client whatever happens);
    those without an address or opted out are skipped by the dispatcher with the reason, so the report
    tells them."""
    unique = list({m.client_id: m for m in members}.values())
    return [
        PlannedMessage(
            tenant_id=tenant_id,
            kind=CAMPAIGN_KIND,
            category="marketing",
            channel=channel,
            recipient=Recipient("client", member.client_id, member.email if channel == "email" else member.phone),
            client_id=member.client_id,
            rule=f"{CAMPAIGN_KIND}:client",
            source_event_id=campaign_id,
            variables={"campaign_id": str(campaign_id)},
            due_at=due,
            max_attempts=max_attempts,
            subject_id=campaign_id,
        )
        for member, due in zip(unique, send_times(now, len(unique), rate_per_minute), strict=True)
    ]


@dataclass(frozen=True)
class Audience:
    matching: int
    recipients: int
    opted_out: int
    without_address: int


def audience(members: list[Member], channel: str, opted_out: set[uuid.UUID]) -> Audience:
    """Who a campaign would reach: an address for its channel and marketing allowed on it."""
    unique = {m.client_id: m for m in members}.values()
    without = {m.client_id for m in unique if not (m.email if channel == "email" else m.phone)}
    out = {m.client_id for m in unique if m.client_id in opted_out} - without
    total = len(unique)
    return Audience(total, total - len(without) - len(out), len(out), len(without))
