"""Notes on a client: authored and timestamped; an edit adds a revision, so every version is kept."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from platform_core.errors import InvalidArgument, PermissionDenied

MAX_NOTE_LENGTH = 10_000
# Besides its author, these roles may edit anyone's note.
NOTE_EDITOR_ROLES = frozenset({"owner", "admin"})


def _clean_body(body: str) -> str:
    body = body.strip()
    if not body:
        raise InvalidArgument.single("body", "is required")
    if len(body) > MAX_NOTE_LENGTH:
        raise InvalidArgument.single("body", f"must be at most {MAX_NOTE_LENGTH} characters")
    return body


@dataclass(eq=False)
class NoteRevision:
    tenant_id: uuid.UUID
    note_id: uuid.UUID
    revision: int
    body: str
    edited_by: str
    edited_at: datetime


@dataclass(eq=False)
class Note:
    tenant_id: uuid.UUID
    id: uuid.UUID
    client_id: uuid.UUID
    author_id: str
    created_at: datetime
    revisions: list[NoteRevision] = field(default_factory=list)
    events: list[Any] = field(default_factory=list, repr=False)

    @classmethod
    def write(
        cls, *, tenant_id: uuid.UUID, note_id: uuid.UUID, client_id: uuid.UUID, author_id: str, body: str, now: datetime
    ) -> Note:
        note = cls(tenant_id, note_id, client_id, author_id, now)
        note.revisions.append(NoteRevision(tenant_id, note_id, 1, _clean_body(body), author_id, now))
        return note

    @property
    def current(self) -> NoteRevision:
        return max(self.revisions, key=lambda r: r.revision)

    def edit(self, body: str, *, editor_id: str, editor_role: str, now: datetime) -> None:
        """A new revision; the same text again changes nothing."""
        if editor_id != self.author_id and editor_role not in NOTE_EDITOR_ROLES:
            raise PermissionDenied("only the note's author, an owner or an admin may edit it")
        body = _clean_body(body)
        if body == self.current.body:
            return
        self.revisions.append(
            NoteRevision(self.tenant_id, self.id, self.current.revision + 1, body, editor_id, max(now, self.created_at))
        )
