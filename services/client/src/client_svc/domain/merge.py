"""Merging duplicate clients into one survivor, and undoing it within 30 days.

A merge keeps a journal (``ClientMerge``): the survivor's field values before and after, and every
per-client record (a row of a table such as client_notes or client_tags) that moved to the survivor,
with the client it came from. Undoing it returns each record that is still the survivor's to its
original owner and gives the survivor back its prior values, except for fields changed since the merge.
Records added to the survivor after the merge are not in the journal, so they stay with it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from client_svc.domain.model import Client
from platform_core.errors import Conflict, FailedPrecondition, InvalidArgument
from platform_core.validation import Violations

UNDO_WINDOW = timedelta(days=30)
MAX_MERGED = 10

# The survivor's fields a merge settles: field -> the Client attributes that go together. A field takes
# the value of the client chosen for it; by default the survivor's, or the first non-empty one among the
# merged clients in the order given. Settling one more field is one more entry here.
MERGE_FIELDS: dict[str, tuple[str, ...]] = {
    "first_name": ("first_name",),
    "last_name": ("last_name",),
    "email": ("email",),
    "phone": ("phone",),
    "kind": ("kind",),
    "company_name": ("company_name",),
    "address": (
        "address_line1",
        "address_line2",
        "address_city",
        "address_region",
        "address_postal_code",
        "address_country",
    ),
    "date_of_birth": ("date_of_birth",),
    "preferred_language": ("preferred_language",),
    "timezone": ("timezone",),
    "default_invoicing_method": ("default_invoicing_method",),
    "status": ("status_id",),
    # A block on one record (e.g. for no-shows) is not lost by merging it into an unblocked one.
    "online_booking_blocked": ("online_booking_blocked", "online_booking_blocked_until"),
}

# Values kept in the journal are JSON: these attributes are read back from text.
_DECODE: dict[str, Any] = {
    "date_of_birth": date.fromisoformat,
    "status_id": uuid.UUID,
    "online_booking_blocked_until": datetime.fromisoformat,
}


def _encode(value: Any) -> Any:
    if isinstance(value, date | uuid.UUID):
        return str(value)
    return value


def _values(client: Client, attrs: tuple[str, ...]) -> list[Any]:
    return [_encode(getattr(client, attr)) for attr in attrs]


def _set(client: Client, attrs: tuple[str, ...], encoded: Sequence[Any]) -> None:
    for attr, value in zip(attrs, encoded, strict=True):
        setattr(client, attr, value if value is None else _DECODE.get(attr, lambda v: v)(value))


def _empty(values: list[Any]) -> bool:
    return all(v is None or v is False or (isinstance(v, str) and not v.strip()) for v in values)


def snapshot(client: Client) -> dict[str, list[Any]]:
    """The client's merge fields, JSON-ready."""
    return {name: _values(client, attrs) for name, attrs in MERGE_FIELDS.items()}


@dataclass(frozen=True)
class OwnedRow:
    """A row of a per-client table, as far as merging cares."""

    table: str
    key: str  # names the row within its table, whoever owns it
    owner: uuid.UUID
    # Rows of one table with the same value here are the same thing for one client (a tag, a group): the
    # survivor keeps its own and a merged client's copy stays with that client. None: always distinct.
    same_as: str | None = None


@dataclass(frozen=True)
class RowMove:
    table: str
    key: str
    from_client: uuid.UUID


def plan_moves(survivor_id: uuid.UUID, merged_ids: Sequence[uuid.UUID], rows: Iterable[OwnedRow]) -> list[RowMove]:
    """The rows that move to the survivor: every merged client's rows, except what the survivor (or a
    client earlier in merged_ids) already has."""
    rows = list(rows)
    order = {client_id: i for i, client_id in enumerate(merged_ids)}
    taken = {(r.table, r.same_as) for r in rows if r.owner == survivor_id and r.same_as is not None}
    moves = []
    for row in sorted((r for r in rows if r.owner in order), key=lambda r: (order[r.owner], r.table, r.key)):
        if row.same_as is not None:
            if (row.table, row.same_as) in taken:
                continue
            taken.add((row.table, row.same_as))
        moves.append(RowMove(row.table, row.key, row.owner))
    return moves


def check_participants(survivor_id: uuid.UUID, merged_ids: Sequence[uuid.UUID]) -> None:
    """The shape of a merge request, before anything is read."""
    if not merged_ids:
        raise InvalidArgument.single("merged_ids", "name at least one client to merge into the survivor")
    if len(merged_ids) > MAX_MERGED:
        raise InvalidArgument.single("merged_ids", f"at most {MAX_MERGED} clients at once")
    if survivor_id in merged_ids:
        raise InvalidArgument.single("merged_ids", "the survivor cannot be merged into itself")
    if len(set(merged_ids)) != len(merged_ids):
        raise InvalidArgument.single("merged_ids", "names a client twice")


def _check_record(client: Client, *, field: str) -> None:
    """The record a merge leaves must still be a valid client."""
    if client.kind == "individual" and not client.first_name.strip():
        raise InvalidArgument.single(field, "the surviving record would be an individual without a first name")
    if client.kind == "business" and not client.company_name.strip():
        raise InvalidArgument.single(field, "the surviving record would be a business without a company name")


@dataclass(frozen=True)
class ClientsMerged:
    tenant_id: uuid.UUID
    merge_id: uuid.UUID
    survivor_id: uuid.UUID
    merged_ids: tuple[uuid.UUID, ...]
    occurred_at: datetime

    @property
    def client_id(self) -> uuid.UUID:  # the aggregate the event is about
        return self.survivor_id


@dataclass(frozen=True)
class ClientsUnmerged:
    tenant_id: uuid.UUID
    merge_id: uuid.UUID
    survivor_id: uuid.UUID
    restored_ids: tuple[uuid.UUID, ...]
    occurred_at: datetime

    @property
    def client_id(self) -> uuid.UUID:
        return self.survivor_id


@dataclass(eq=False)
class ClientMerge:
    tenant_id: uuid.UUID
    id: uuid.UUID
    survivor_id: uuid.UUID
    merged_ids: tuple[uuid.UUID, ...]
    merged_at: datetime
    undo_until: datetime
    merged_by: str
    survivor_before: dict[str, list[Any]]
    survivor_after: dict[str, list[Any]]
    fields_taken: dict[str, uuid.UUID]
    moves: list[RowMove]
    unmerged_at: datetime | None = None
    # Set when a participant's personal data was erased: values and moves are gone, so it cannot be undone.
    purged_at: datetime | None = None
    events: list[Any] = field(default_factory=list, repr=False)

    @classmethod
    def merge(
        cls,
        *,
        merge_id: uuid.UUID,
        survivor: Client,
        merged: Sequence[Client],
        choices: Mapping[str, uuid.UUID],
        rows: Iterable[OwnedRow],
        merged_by: str,
        now: datetime,
    ) -> ClientMerge:
        """Settle the survivor's fields, mark the merged clients and plan which records move."""
        check_participants(survivor.id, [c.id for c in merged])
        everyone = [survivor, *merged]
        for client in everyone:
            client.require_live()
        by_id = {c.id: c for c in everyone}
        violations = Violations()
        for name in choices:
            if name not in MERGE_FIELDS:
                violations.add(f"field_choices.{name}", f"is not a field a merge settles ({', '.join(MERGE_FIELDS)})")
        for name, client_id in choices.items():
            if name in MERGE_FIELDS and client_id not in by_id:
                violations.add(f"field_choices.{name}", "names a client that is not part of this merge")
        violations.raise_if_any()

        before = snapshot(survivor)
        taken: dict[str, uuid.UUID] = {}
        for name, attrs in MERGE_FIELDS.items():
            if name in choices:
                source = by_id[choices[name]]
            else:
                source = next((c for c in everyone if not _empty(_values(c, attrs))), survivor)
            values = _values(source, attrs)
            if source is not survivor and values != before[name]:
                _set(survivor, attrs, values)
                taken[name] = source.id
        _check_record(survivor, field="field_choices")
        if taken:
            survivor._record_update(tuple(taken), now)
        for client in merged:
            client.merged_into = survivor.id
            client.merged_at = now
            client._touch(now)

        merged_ids = tuple(c.id for c in merged)
        merge = cls(
            tenant_id=survivor.tenant_id,
            id=merge_id,
            survivor_id=survivor.id,
            merged_ids=merged_ids,
            merged_at=now,
            undo_until=now + UNDO_WINDOW,
            merged_by=merged_by,
            survivor_before=before,
            survivor_after=snapshot(survivor),
            fields_taken=taken,
            moves=plan_moves(survivor.id, merged_ids, rows),
        )
        merge.events.append(ClientsMerged(survivor.tenant_id, merge_id, survivor.id, merged_ids, now))
        return merge

    def undoable(self, now: datetime) -> bool:
        return self.unmerged_at is None and self.purged_at is None and now <= self.undo_until

    def unmerge(self, *, survivor: Client, restored: Sequence[Client], now: datetime) -> None:
        """Bring the merged clients back and the survivor's fields to their values before the merge
        (a field changed since keeps its newer value). The records move back in adapters."""
        if self.unmerged_at is not None:
            raise FailedPrecondition("this merge was already undone", reason="MERGE_ALREADY_UNDONE")
        if self.purged_at is not None or survivor.erased_at is not None:
            raise FailedPrecondition(
                "the personal data of these clients was erased, so the merge can no longer be undone",
                reason="CLIENT_ERASED",
            )
        if now > self.undo_until:
            raise FailedPrecondition(
                f"a merge can be undone for {UNDO_WINDOW.days} days; this one could be undone until "
                f"{self.undo_until:%Y-%m-%d %H:%M} UTC",
                reason="MERGE_UNDO_EXPIRED",
            )
        if survivor.merged_into is not None:
            raise FailedPrecondition(
                f"client {survivor.id} was merged into client {survivor.merged_into} since; undo that merge first",
                reason="MERGE_SUPERSEDED",
            )
        if sorted(c.id for c in restored) != sorted(self.merged_ids) or any(
            c.merged_into != survivor.id or c.erased_at is not None for c in restored
        ):
            raise Conflict("the merged clients changed since the merge", reason="MERGE_STATE_CHANGED")

        changed = []
        for name, prior in self.survivor_before.items():
            attrs = MERGE_FIELDS.get(name)
            if attrs is None or name not in self.survivor_after:
                continue  # a field merges no longer settle: leave it
            current = _values(survivor, attrs)
            if current == self.survivor_after[name] and current != prior:
                _set(survivor, attrs, prior)
                changed.append(name)
        if changed:
            try:
                _check_record(survivor, field="merge_id")
            except InvalidArgument as exc:
                raise Conflict(
                    "the survivor changed since the merge so that its earlier values no longer fit; "
                    "set its name or kind first",
                    reason="MERGE_FIELDS_CONFLICT",
                ) from exc
            survivor._record_update(tuple(changed), now)
        for client in restored:
            client.merged_into = None
            client.merged_at = None
            client._touch(now)
        self.unmerged_at = now
        self.events.append(
            ClientsUnmerged(self.tenant_id, self.id, self.survivor_id, tuple(c.id for c in restored), now)
        )

    def purge(self, *, now: datetime) -> None:
        """Forget the values and records of an erased participant (an undone merge keeps only its ids)."""
        self.survivor_before, self.survivor_after, self.moves = {}, {}, []
        if self.purged_at is None:
            self.purged_at = now

    def moved_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for move in self.moves:
            counts[move.table] = counts.get(move.table, 0) + 1
        return counts
