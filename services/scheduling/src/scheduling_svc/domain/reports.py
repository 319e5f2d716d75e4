"""Appointment reports: what is counted, and how rates and utilization are defined.

- The range is whole days of the business's timezone, ``from`` to ``to`` inclusive, at most 366 days; an
  appointment is in it when it *starts* in it, and then counts wholly.
- Counts are of appointments by status. By service and by staff member, an appointment counts once for each
  service it includes and each staff member who performs part of it.
- No-show rate = no_show / (completed + no_show): of the appointments whose outcome is known, the share that
  were missed (booked appointments still to come, or not yet marked, are not in it).
- Cancellation rate = cancelled / all appointments in the range.
- Booked time (of a staff member) = the staff member's time in booked, completed and no-show appointments:
  the durations of the services they perform, buffers not included, a group session once however many attend.
- Available time = the staff member's working time within the range: weekly hours with their exceptions,
  within the business's hours and holidays. Utilization = booked / available; it exceeds 1 when staff were
  booked beyond their hours (availability overridden).
- Revenue (of a service, of a staff member) = the booking-time prices of the services in completed
  appointments, per currency: what was delivered, whatever billing invoiced or collected for it.
- A rate without a denominator (nothing to divide by) is None, not 0.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from platform_core.validation import Violations
from scheduling_svc.domain.appointments import Status

MAX_REPORT_DAYS = 366
# Statuses whose appointment takes (or took) the staff member's time.
OCCUPYING = (Status.BOOKED, Status.COMPLETED, Status.NO_SHOW)


def ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def check_range(from_raw: str, to_raw: str) -> tuple[date, date]:
    violations = Violations()
    days: list[date | None] = []
    for field_name, raw in (("from", from_raw), ("to", to_raw)):
        try:
            days.append(date.fromisoformat(raw))
        except ValueError:
            violations.add(field_name, "must be a date, YYYY-MM-DD")
            days.append(None)
    first, last = days
    if first is not None and last is not None:
        if last < first:
            violations.add("to", "must not be before from")
        elif (last - first).days + 1 > MAX_REPORT_DAYS:
            violations.add("to", f"a report covers at most {MAX_REPORT_DAYS} days")
    violations.raise_if_any()
    assert first is not None and last is not None
    return first, last


@dataclass(frozen=True)
class Counts:
    booked: int = 0
    completed: int = 0
    cancelled: int = 0
    no_show: int = 0

    @classmethod
    def of(cls, by_status: Mapping[str, int]) -> Counts:
        return cls(
            booked=by_status.get(Status.BOOKED.value, 0),
            completed=by_status.get(Status.COMPLETED.value, 0),
            cancelled=by_status.get(Status.CANCELLED.value, 0),
            no_show=by_status.get(Status.NO_SHOW.value, 0),
        )

    @property
    def total(self) -> int:
        return self.booked + self.completed + self.cancelled + self.no_show

    @property
    def no_show_rate(self) -> float | None:
        return ratio(self.no_show, self.completed + self.no_show)

    @property
    def cancellation_rate(self) -> float | None:
        return ratio(self.cancelled, self.total)

    def of_status(self, status: Status) -> int:
        return int(getattr(self, status.value))


@dataclass(frozen=True)
class ServiceLine:
    service_id: uuid.UUID
    name: str
    counts: Counts
    booked: timedelta
    # (currency, amount in minor units), by currency.
    revenue: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class StaffLine:
    staff_id: uuid.UUID
    display_name: str
    counts: Counts
    booked: timedelta
    available: timedelta
    revenue: tuple[tuple[str, int], ...] = ()

    @property
    def utilization(self) -> float | None:
        return ratio(self.booked.total_seconds(), self.available.total_seconds())


@dataclass(frozen=True)
class AppointmentReport:
    from_day: date
    to_day: date
    timezone: str
    totals: Counts
    by_service: list[ServiceLine]
    by_staff: list[StaffLine]
    generated_at: datetime

    def by_status(self) -> list[tuple[Status, int, float | None]]:
        """(status, count, share of all) for every status, zeros included."""
        return [(s, self.totals.of_status(s), ratio(self.totals.of_status(s), self.totals.total)) for s in Status]
