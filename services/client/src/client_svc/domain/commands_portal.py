"""What the gateway's portal accounts ask the client service to record, in the imperative (each once, by the
caller's id)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class IssueInvitation:
    tenant_id: uuid.UUID
    invitation_id: uuid.UUID
    client_id: uuid.UUID
    email: str
    accept_url: str
    expires_at: datetime
    business_name: str
    now: datetime = field(kw_only=True)


@dataclass(frozen=True)
class ChangePortalAccess:
    tenant_id: uuid.UUID
    change_id: uuid.UUID
    client_id: uuid.UUID
    enabled: bool
    now: datetime = field(kw_only=True)
