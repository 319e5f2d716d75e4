"""What callers ask of a client's attachments, in the imperative."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class UploadAttachment:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    filename: str
    declared_content_type: str
    shared_with_client: bool
    uploaded_by: str
    # The file's bytes as they arrive (read once, checked as they stream into storage).
    content: AsyncIterator[bytes]
    now: datetime = field(kw_only=True)


@dataclass(frozen=True)
class DownloadAttachment:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    attachment_id: uuid.UUID
    # A portal principal's own client id (it reads what is shared with it only); None for staff.
    portal_client_id: str | None = None


@dataclass(frozen=True)
class ListAttachments:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    portal_client_id: str | None = None


@dataclass(frozen=True)
class UpdateAttachment:
    """None leaves a field as it is."""

    tenant_id: uuid.UUID
    client_id: uuid.UUID
    attachment_id: uuid.UUID
    filename: str | None = None
    shared_with_client: bool | None = None
    now: datetime = field(kw_only=True)


@dataclass(frozen=True)
class DeleteAttachment:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    attachment_id: uuid.UUID
    now: datetime = field(kw_only=True)
