"""The business's membership settings. Clients may cancel their own subscriptions in the portal only when the
business allows it (off by default: most businesses keep cancellation a conversation), and never another
client's (which looks missing to them)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from platform_core.errors import NotFound, PermissionDenied


@dataclass(frozen=True)
class MembershipSettings:
    tenant_id: uuid.UUID
    clients_may_cancel: bool = False
    # None: never set (the defaults).
    updated_at: datetime | None = None


def check_client_may_cancel(settings: MembershipSettings, holder_id: uuid.UUID, client_id: uuid.UUID) -> None:
    """Refuses a client's own cancellation of ``holder_id``'s subscription unless it is its own and allowed."""
    if holder_id != client_id:
        raise NotFound("subscription not found")
    if not settings.clients_may_cancel:
        raise PermissionDenied(
            "this business does not let clients cancel their memberships; please contact it",
            reason="CLIENT_CANCELLATION_OFF",
        )
