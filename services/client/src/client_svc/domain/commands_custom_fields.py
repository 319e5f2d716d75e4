"""What callers ask of the business's custom field definitions, in the imperative."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class ListCustomFields:
    tenant_id: uuid.UUID
    include_retired: bool = False
    # Only the fields this form collects ("": every field).
    form: str = ""


@dataclass(frozen=True)
class CheckFormAnswers:
    """Answers to a form (booking_request or portal_profile) checked as a new client's, nothing stored."""

    tenant_id: uuid.UUID
    form: str
    answers: Mapping[str, Any]
    # ISO 3166-1 region national phone numbers are read in.
    region: str


@dataclass(frozen=True)
class CreateCustomField:
    tenant_id: uuid.UUID
    label: str
    type: str
    key: str = ""
    options: tuple[str, ...] = ()
    required: bool = False
    forms: tuple[str, ...] = ()
    now: datetime = field(kw_only=True)


@dataclass(frozen=True)
class UpdateCustomField:
    tenant_id: uuid.UUID
    field_id: uuid.UUID
    label: str | None = None
    options: tuple[str, ...] | None = None
    required: bool | None = None
    forms: tuple[str, ...] | None = None
    retired: bool | None = None
    now: datetime = field(kw_only=True)


@dataclass(frozen=True)
class ReorderCustomFields:
    tenant_id: uuid.UUID
    ids: tuple[uuid.UUID, ...]


@dataclass(frozen=True)
class RetireCustomField:
    tenant_id: uuid.UUID
    field_id: uuid.UUID
    now: datetime = field(kw_only=True)
