"""The catalogue's use-case inputs: settings, services, staff schedules, schedule exceptions and resources, as
the caller gave them (the handlers check them against the catalogue's rules)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from scheduling_svc.domain.catalogue import WeeklyInput


@dataclass(frozen=True)
class GetSchedulingSettings:
    tenant_id: uuid.UUID


@dataclass(frozen=True)
class UpdateSchedulingSettings:
    tenant_id: uuid.UUID
    timezone: str
    granularity_minutes: int
    min_notice_minutes: int
    horizon_days: int
    business_hours: WeeklyInput
    cancellation_notice_minutes: int
    max_active_bookings_per_client: int
    follow_up_actions: Sequence[str]
    version: int


@dataclass(frozen=True)
class ServiceInput:
    name: str
    description: str
    duration_minutes: int
    buffer_before_minutes: int
    buffer_after_minutes: int
    price_minor: int
    currency: str
    capacity: int
    bookable_online: bool
    staff_ids: Sequence[str]
    resource_ids: Sequence[str]
    category: str
    colour: str
    rules: tuple[int, int, int] | None  # (granularity, notice minutes, horizon days); None: the business's


@dataclass(frozen=True)
class CreateService:
    tenant_id: uuid.UUID
    definition: ServiceInput
    now: datetime


@dataclass(frozen=True)
class UpdateService:
    tenant_id: uuid.UUID
    service_id: uuid.UUID
    definition: ServiceInput
    version: int
    now: datetime


@dataclass(frozen=True)
class ArchiveService:
    tenant_id: uuid.UUID
    service_id: uuid.UUID


@dataclass(frozen=True)
class GetService:
    tenant_id: uuid.UUID
    service_id: uuid.UUID
    for_client: bool  # asked in the portal: only a live service bookable online exists


@dataclass(frozen=True)
class ListServices:
    tenant_id: uuid.UUID
    include_archived: bool
    bookable_online_only: bool
    for_client: bool  # asked in the portal: live services bookable online only


@dataclass(frozen=True)
class PutStaffMember:
    tenant_id: uuid.UUID
    staff_id: str
    display_name: str
    timezone: str
    weekly: WeeklyInput
    active: bool
    version: int


@dataclass(frozen=True)
class GetStaffMember:
    tenant_id: uuid.UUID
    staff_id: uuid.UUID


@dataclass(frozen=True)
class ListStaffMembers:
    tenant_id: uuid.UUID
    include_inactive: bool


@dataclass(frozen=True)
class AddScheduleException:
    tenant_id: uuid.UUID
    staff_id: str  # empty: the business's (a holiday)
    day: str
    available: bool
    ranges: Sequence[tuple[str, str]]
    label: str


@dataclass(frozen=True)
class RemoveScheduleException:
    tenant_id: uuid.UUID
    exception_id: uuid.UUID


@dataclass(frozen=True)
class ListScheduleExceptions:
    tenant_id: uuid.UUID
    owners: Sequence[uuid.UUID | None]  # staff members; None: the business
    from_day: date
    to_day: date


@dataclass(frozen=True)
class CreateResource:
    tenant_id: uuid.UUID
    name: str
    kind: str
    capacity: int


@dataclass(frozen=True)
class UpdateResource:
    tenant_id: uuid.UUID
    resource_id: uuid.UUID
    name: str
    kind: str
    capacity: int
    archived: bool


@dataclass(frozen=True)
class ListResources:
    tenant_id: uuid.UUID
