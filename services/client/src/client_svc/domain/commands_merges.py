"""What callers ask about merging duplicate clients and erasing a client's personal data, in the imperative."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class MergeClients:
    tenant_id: uuid.UUID
    survivor_id: uuid.UUID
    merged_ids: tuple[uuid.UUID, ...]
    merged_by: str
    # field -> the client whose value survives
    field_choices: Mapping[str, uuid.UUID] = field(default_factory=dict)
    now: datetime = field(kw_only=True)


@dataclass(frozen=True)
class UnmergeClients:
    tenant_id: uuid.UUID
    merge_id: uuid.UUID
    max_clients: int = 0
    now: datetime = field(kw_only=True)


@dataclass(frozen=True)
class GetClientMerge:
    tenant_id: uuid.UUID
    merge_id: uuid.UUID


@dataclass(frozen=True)
class ListClientMerges:
    """The merges a client took part in, as survivor or merged."""

    tenant_id: uuid.UUID
    client_id: uuid.UUID


@dataclass(frozen=True)
class EraseClient:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    confirm: bool
    now: datetime = field(kw_only=True)
