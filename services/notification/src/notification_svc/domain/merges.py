"""Client merges and erasure as the timeline sees them (the consumer side of the client contract).

On ClientsMerged the merged clients' entries move to the survivor's timeline, and each move is
remembered (merge, entry, original client); on ClientsUnmerged every entry moved for that merge goes
back to its original client. An event that arrives late for a merged-away client is recorded on the
client it is merged into, and remembered the same way, so nothing is stranded on a hidden record.
Other services re-pointing their records on these events can copy this shape.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime


class MergeNotSeenYet(RuntimeError):
    """ClientsUnmerged came before its ClientsMerged (a redelivery overtook it): retried later."""


@dataclass(frozen=True)
class OpenMerge:
    merge_id: uuid.UUID
    merged_client_id: uuid.UUID
    survivor_id: uuid.UUID


@dataclass(frozen=True)
class Placement:
    """Where an entry about a client goes: the client, or the end of the chain of merges it is in."""

    client_id: uuid.UUID
    hops: tuple[OpenMerge, ...] = ()
    erased: bool = False

    @property
    def target(self) -> uuid.UUID:
        return self.hops[-1].survivor_id if self.hops else self.client_id


@dataclass(frozen=True)
class EntryMove:
    merge_id: uuid.UUID
    entry_id: uuid.UUID
    original_client_id: uuid.UUID


@dataclass(frozen=True)
class Source:
    """The integration event an entry comes from."""

    occurred_at: datetime
    event_id: uuid.UUID
    event_type: str


def moves_for(placement: Placement, entry_id: uuid.UUID) -> list[EntryMove]:
    """One move per merge an entry crossed, so each unmerge returns it one step."""
    return [EntryMove(hop.merge_id, entry_id, hop.merged_client_id) for hop in placement.hops]


def _clients(count: int) -> str:
    return "1 duplicate client" if count == 1 else f"{count} duplicate clients"


def merged_summary(count: int) -> str:
    return f"Merged with {_clients(count)}"


def unmerged_summary(count: int) -> str:
    return f"Merge undone: {_clients(count)} separated again"
