"""Attachments: files kept with a client. The bytes live in blob storage; the record holds what they are.

What a file is comes from its bytes (sniffed), never from what the uploader claims: a claim that does not
match is refused, a type the business does not accept is refused, and so is a file over the size limit,
counted as the bytes arrive.
"""

from __future__ import annotations

import codecs
import hashlib
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from platform_core.errors import FailedPrecondition, InvalidArgument, LimitExceeded

MAX_FILENAME_LENGTH = 255
# Enough of the head of a file to tell its type (office documents name their parts early in the zip).
SNIFF_BYTES = 8192

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
DEFAULT_CONTENT_TYPES = (
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/heic",
    "text/plain",
    "text/csv",
    DOCX,
    XLSX,
)
# Claims that a sniffed container may carry: a zip is any office document, plain text any text format.
_COMPATIBLE = {"application/zip": {DOCX, XLSX, PPTX}, "text/plain": {"text/csv", "text/markdown"}}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
OCTET_STREAM = "application/octet-stream"


class AttachmentTooLarge(LimitExceeded):
    reason = "ATTACHMENT_TOO_LARGE"


class UnsupportedMediaType(InvalidArgument):
    reason = "UNSUPPORTED_MEDIA_TYPE"


@dataclass(frozen=True)
class AttachmentPolicy:
    max_bytes: int
    content_types: frozenset[str] = frozenset(DEFAULT_CONTENT_TYPES)


def sniff(head: bytes) -> str:
    """The media type the first bytes of a file show."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1"):
        return "image/heic"
    if head.startswith(b"PK\x03\x04"):
        for marker, media_type in ((b"word/", DOCX), (b"xl/", XLSX), (b"ppt/", PPTX)):
            if marker in head:
                return media_type
        return "application/zip"
    if head and b"\x00" not in head:
        try:
            codecs.getincrementaldecoder("utf-8")().decode(head, final=False)  # a cut last character is fine
            return "text/plain"
        except UnicodeDecodeError:
            pass
    return OCTET_STREAM


def _media_type(raw: str) -> str:
    return raw.split(";", 1)[0].strip().lower()


def clean_filename(raw: str) -> str:
    """The last path segment, without control characters; refused when nothing is left or it is too long."""
    name = _CONTROL.sub("", raw.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    if not name or name in (".", ".."):
        raise InvalidArgument.single("filename", "is required")
    if len(name) > MAX_FILENAME_LENGTH:
        raise InvalidArgument.single("filename", f"must be at most {MAX_FILENAME_LENGTH} characters")
    return name


class Receipt:
    """Counts, hashes and sniffs an upload as its chunks arrive."""

    def __init__(self, policy: AttachmentPolicy, declared_type: str) -> None:
        self.policy = policy
        self.declared_type = _media_type(declared_type)
        self.size = 0
        self.head = b""
        self._sha256 = hashlib.sha256()
        self._content_type: str | None = None

    def take(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.policy.max_bytes:
            raise AttachmentTooLarge(f"a file may be at most {self.policy.max_bytes} bytes")
        self._sha256.update(chunk)
        if len(self.head) < SNIFF_BYTES:
            self.head += chunk[: SNIFF_BYTES - len(self.head)]

    @property
    def sniffable(self) -> bool:
        return len(self.head) >= SNIFF_BYTES

    def content_type(self) -> str:
        """What the file is, checked against the claim and the accepted types (once enough bytes arrived)."""
        if self._content_type is None:
            sniffed = sniff(self.head)
            declared = self.declared_type
            if not declared or declared in (sniffed, OCTET_STREAM) or sniffed == OCTET_STREAM:
                decided = sniffed  # unrecognized bytes stay unrecognized, whatever the claim
            elif declared in _COMPATIBLE.get(sniffed, ()):
                decided = declared
            else:
                raise InvalidArgument.single("content_type", f"is {declared}, but the file is {sniffed}")
            if decided not in self.policy.content_types:
                raise UnsupportedMediaType.single("content_type", f"{decided} files are not accepted")
            self._content_type = decided
        return self._content_type

    def finish(self) -> tuple[int, str, str]:
        """Size, hex SHA-256 and media type of the whole file."""
        if self.size == 0:
            raise InvalidArgument.single("file", "is empty")
        return self.size, self._sha256.hexdigest(), self.content_type()


def storage_key(tenant_id: uuid.UUID, client_id: uuid.UUID, attachment_id: uuid.UUID) -> str:
    return f"attachments/{tenant_id}/{client_id}/{attachment_id}"


@dataclass(frozen=True)
class AttachmentAdded:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    attachment_id: uuid.UUID
    filename: str
    content_type: str
    size_bytes: int
    shared_with_client: bool
    occurred_at: datetime


@dataclass(frozen=True)
class AttachmentChanged:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    attachment_id: uuid.UUID
    filename: str
    shared_with_client: bool
    changed_fields: tuple[str, ...]
    occurred_at: datetime


@dataclass(frozen=True)
class AttachmentDeleted:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    attachment_id: uuid.UUID
    filename: str
    occurred_at: datetime


@dataclass(eq=False)
class Attachment:
    tenant_id: uuid.UUID
    id: uuid.UUID
    client_id: uuid.UUID
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    storage_key: str
    shared_with_client: bool
    uploaded_by: str
    uploaded_at: datetime
    deleted_at: datetime | None = None
    events: list[Any] = field(default_factory=list, repr=False)

    @classmethod
    def record(
        cls,
        *,
        tenant_id: uuid.UUID,
        attachment_id: uuid.UUID,
        client_id: uuid.UUID,
        filename: str,
        receipt: Receipt,
        shared_with_client: bool,
        uploaded_by: str,
        now: datetime,
    ) -> Attachment:
        size, sha256, content_type = receipt.finish()
        attachment = cls(
            tenant_id=tenant_id,
            id=attachment_id,
            client_id=client_id,
            filename=clean_filename(filename),
            content_type=content_type,
            size_bytes=size,
            sha256=sha256,
            storage_key=storage_key(tenant_id, client_id, attachment_id),
            shared_with_client=shared_with_client,
            uploaded_by=uploaded_by,
            uploaded_at=now,
        )
        attachment.events.append(
            AttachmentAdded(
                tenant_id, client_id, attachment_id, attachment.filename, content_type, size, shared_with_client, now
            )
        )
        return attachment

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None

    def visible_to(self, *, portal_client_id: str | None) -> bool:
        """Staff see every live attachment; a portal client only its own that are shared with it."""
        if self.deleted:
            return False
        return portal_client_id is None or (self.shared_with_client and str(self.client_id) == portal_client_id)

    def change(self, *, filename: str | None, shared_with_client: bool | None, now: datetime) -> None:
        if self.deleted:
            raise FailedPrecondition("the attachment is deleted", reason="ATTACHMENT_DELETED")
        changed: tuple[str, ...] = ()
        if filename is not None and clean_filename(filename) != self.filename:
            self.filename = clean_filename(filename)
            changed += ("filename",)
        if shared_with_client is not None and shared_with_client != self.shared_with_client:
            self.shared_with_client = shared_with_client
            changed += ("shared_with_client",)
        if changed:
            self.events.append(
                AttachmentChanged(
                    self.tenant_id, self.client_id, self.id, self.filename, self.shared_with_client, changed, now
                )
            )

    def delete(self, *, now: datetime) -> None:
        """Soft: the record and the bytes stay, hidden, until purged."""
        if self.deleted:
            raise FailedPrecondition("the attachment is already deleted", reason="ATTACHMENT_DELETED")
        self.deleted_at = now
        self.events.append(AttachmentDeleted(self.tenant_id, self.client_id, self.id, self.filename, now))
