"""A client's portal: invitations issued and access switched on or off, recorded so that their events
(the invitation email, the timeline) leave through this service's outbox.

The gateway keeps the portal accounts and the invitation token; what is recorded here is the fact, keyed
by the gateway's own id, so a retried call records nothing twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from client_svc.domain.commands_portal import IssueInvitation
from client_svc.domain.contact import ContactError, normalize_email
from client_svc.domain.model import Client
from platform_core.validation import Violations

KINDS = ("invitation", "access_granted", "access_revoked")
MAX_URL_LENGTH = 2000
MAX_BUSINESS_NAME = 200


@dataclass(frozen=True)
class PortalInvitationIssued:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    invitation_id: uuid.UUID
    email: str
    accept_url: str
    expires_at: datetime
    business_name: str
    client_first_name: str
    client_last_name: str
    occurred_at: datetime


@dataclass(frozen=True)
class PortalAccessChanged:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    enabled: bool
    occurred_at: datetime


@dataclass(eq=False)
class PortalRecord:
    tenant_id: uuid.UUID
    id: uuid.UUID
    client_id: uuid.UUID
    kind: str
    recorded_at: datetime
    email: str | None = None
    expires_at: datetime | None = None
    events: list[Any] = field(default_factory=list, repr=False)

    @classmethod
    def invitation(cls, cmd: IssueInvitation, *, client: Client, now: datetime) -> PortalRecord:
        """The invitation link itself travels only on the event (to be emailed), never in this record."""
        client.require_live()
        violations = Violations()
        try:
            email = normalize_email(cmd.email)
        except ContactError as exc:
            violations.add("email", str(exc))
        url = urlsplit(cmd.accept_url)
        if url.scheme not in ("http", "https") or not url.netloc or len(cmd.accept_url) > MAX_URL_LENGTH:
            violations.add("accept_url", "must be an http(s) address")
        if cmd.expires_at <= now:
            violations.add("expires_at", "must be in the future")
        business_name = " ".join(cmd.business_name.split())[:MAX_BUSINESS_NAME]
        violations.raise_if_any()
        record = cls(cmd.tenant_id, cmd.invitation_id, client.id, "invitation", now, email, cmd.expires_at)
        record.events.append(
            PortalInvitationIssued(
                tenant_id=cmd.tenant_id,
                client_id=client.id,
                invitation_id=cmd.invitation_id,
                email=email,
                accept_url=cmd.accept_url,
                expires_at=cmd.expires_at,
                business_name=business_name,
                client_first_name=client.first_name,
                client_last_name=client.last_name,
                occurred_at=now,
            )
        )
        return record

    @classmethod
    def access_change(
        cls, tenant_id: uuid.UUID, change_id: uuid.UUID, *, client: Client, enabled: bool, now: datetime
    ) -> PortalRecord:
        kind = "access_granted" if enabled else "access_revoked"
        record = cls(tenant_id, change_id, client.id, kind, now)
        record.events.append(PortalAccessChanged(tenant_id, client.id, enabled, now))
        return record
