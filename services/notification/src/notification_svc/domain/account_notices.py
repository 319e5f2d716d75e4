"""Emails the gateway and the public booking page ask for, to the address the event names: password
resets, staff invitations, one-time codes, a disabled webhook's owners.

What must not outlive the message (a reset link, a code) travels under ``secret`` and is dropped from the
message once it is sent or given up; a message due after its link or code expired is skipped, not sent.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from notification_svc.domain.delivery import PlannedMessage, Recipient


@dataclass(frozen=True)
class AddressedNotice:
    tenant_id: uuid.UUID
    kind: str  # e.g. "account.password_reset"
    recipient_id: uuid.UUID  # the account (or, for an address alone, a stable id of it)
    address: str
    source_event_id: uuid.UUID
    occurred_at: datetime
    variables: dict[str, Any]
    client_id: uuid.UUID | None = None


def address_id(address: str) -> uuid.UUID:
    """A stable id for a recipient known only by its address."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"mailto:{address.strip().lower()}")


def addressed_notice(notice: AddressedNotice, *, max_attempts: int) -> PlannedMessage:
    return PlannedMessage(
        tenant_id=notice.tenant_id,
        kind=notice.kind,
        category="transactional",
        channel="email",
        recipient=Recipient("address", notice.recipient_id, notice.address.strip()),
        client_id=notice.client_id,
        rule=f"{notice.kind}:address",
        source_event_id=notice.source_event_id,
        variables=notice.variables,
        due_at=notice.occurred_at,
        max_attempts=max_attempts,
    )


def expired(variables: dict[str, Any], now: datetime) -> bool:
    expires_at = str(variables.get("expires_at") or "")
    return bool(expires_at) and datetime.fromisoformat(expires_at) <= now
