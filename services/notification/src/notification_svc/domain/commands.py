"""Every use case's input, one command each (``service_layer`` has the handler of the same name in snake case).

Entrypoints build them: the consumers from integration events (``now`` from the clock at the moment the event
is handled), the gRPC servicer from a caller's request (the caller's tenant, and the acting staff member where
one is recorded).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from notification_svc.domain.campaigns import Segment
from notification_svc.domain.merges import Source

# The timeline (service_layer/handlers.py).


@dataclass(frozen=True)
class RecordActivity:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    kind: str
    summary: str
    occurred_at: datetime
    source_event_id: uuid.UUID
    source_event_type: str


@dataclass(frozen=True)
class FollowMerge:
    tenant_id: uuid.UUID
    merge_id: uuid.UUID
    survivor_id: uuid.UUID
    merged_ids: tuple[uuid.UUID, ...]
    source: Source


@dataclass(frozen=True)
class FollowUnmerge:
    tenant_id: uuid.UUID
    merge_id: uuid.UUID
    survivor_id: uuid.UUID
    restored_ids: tuple[uuid.UUID, ...]
    source: Source


@dataclass(frozen=True)
class ForgetClient:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    source: Source


@dataclass(frozen=True)
class SendPortalInvitation:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    email: str
    accept_url: str
    expires_at: datetime
    business_name: str
    client_first_name: str
    client_last_name: str
    source_event_id: uuid.UUID


# Campaigns (service_layer/campaign_handlers.py).


@dataclass(frozen=True)
class CreateCampaign:
    tenant_id: uuid.UUID
    created_by: str  # the staff member who wrote it
    name: str
    channel: str
    segment: Segment
    source: str
    rate_per_minute: int
    now: datetime


@dataclass(frozen=True)
class PreviewCampaignAudience:
    tenant_id: uuid.UUID
    segment: Segment
    channel: str


@dataclass(frozen=True)
class SendCampaign:
    tenant_id: uuid.UUID
    campaign_id: uuid.UUID
    segment: Segment
    channel: str
    rate_per_minute: int
    now: datetime
    max_attempts: int
