import uuid
from datetime import UTC, datetime, timedelta

import pytest

from client_svc.domain.notes import Note
from platform_core.errors import InvalidArgument, PermissionDenied

NOW = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)


def note(body: str = "Prefers morning appointments") -> Note:
    return Note.write(
        tenant_id=uuid.uuid4(), note_id=uuid.uuid4(), client_id=uuid.uuid4(), author_id="alice", body=body, now=NOW
    )


def test_an_edit_keeps_every_version() -> None:
    n = note()
    n.edit("Prefers afternoons now", editor_id="alice", editor_role="staff", now=NOW + timedelta(days=1))
    n.edit("Prefers afternoons now", editor_id="alice", editor_role="staff", now=NOW + timedelta(days=2))
    assert [(r.revision, r.body) for r in n.revisions] == [
        (1, "Prefers morning appointments"),
        (2, "Prefers afternoons now"),
    ]
    assert n.current.edited_at == NOW + timedelta(days=1)


def test_only_the_author_an_owner_or_an_admin_may_edit() -> None:
    n = note()
    with pytest.raises(PermissionDenied):
        n.edit("Mine now", editor_id="bob", editor_role="staff", now=NOW)
    n.edit("Corrected by an admin", editor_id="carol", editor_role="admin", now=NOW)
    assert n.current.edited_by == "carol"


@pytest.mark.parametrize("body", ["", "   ", "x" * 10_001])
def test_empty_or_huge_notes_are_refused(body: str) -> None:
    with pytest.raises(InvalidArgument):
        note(body)
