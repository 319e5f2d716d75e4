"""Several emails and phones per client (one primary of each kind), and contact persons of a business.

The primary email and phone are also the client's ``email`` and ``phone`` (what search, duplicates and
older callers read); the rules here keep the two in step.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from client_svc.domain.contact import ContactError, normalize_email, normalize_phone
from platform_core.validation import Violations

KINDS = ("email", "phone")
LABELS = ("mobile", "work", "home", "other")
MAX_POINTS_PER_KIND = 10
MAX_CONTACT_PERSONS = 20
MAX_PERSON_TEXT = 100


@dataclass(frozen=True)
class ContactPointInput:
    value: str
    label: str = ""
    primary: bool = False


@dataclass(frozen=True)
class ContactPersonInput:
    name: str
    role: str = ""
    email: str = ""
    phone: str = ""


@dataclass(frozen=True)
class PointValue:
    """A validated email (normalized) or phone (E.164) with its label."""

    value: str
    label: str
    primary: bool


@dataclass(frozen=True)
class PersonValue:
    name: str
    role: str
    email: str | None
    phone: str | None


@dataclass(eq=False)
class ContactPoint:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    id: uuid.UUID
    kind: str
    value: str
    label: str
    is_primary: bool
    position: int


@dataclass(eq=False)
class ContactPerson:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    id: uuid.UUID
    position: int
    name: str
    role: str
    email: str | None
    phone: str | None

    @property
    def values(self) -> PersonValue:
        return PersonValue(self.name, self.role, self.email, self.phone)


def _normalize(kind: str, raw: str, region: str | None) -> str:
    return normalize_email(raw) if kind == "email" else normalize_phone(raw, region)


def read_points(
    kind: str, given: Sequence[ContactPointInput], region: str | None, violations: Violations
) -> list[PointValue]:
    """The list as it will be stored: normalized, no value twice, exactly one primary (the first when none
    is marked), the primary first. Field names are the API's: ``emails[1].value``."""
    field = f"{kind}s"
    if len(given) > MAX_POINTS_PER_KIND:
        violations.add(field, f"at most {MAX_POINTS_PER_KIND} per client")
        return []
    result: list[PointValue] = []
    seen: set[str] = set()
    for index, point in enumerate(given):
        label = point.label.strip().lower() or "other"
        if label not in LABELS:
            violations.add(f"{field}[{index}].label", f"must be one of {', '.join(LABELS)}")
        try:
            value = _normalize(kind, point.value, region)
        except ContactError as exc:
            violations.add(f"{field}[{index}].value", str(exc))
            continue
        if value.lower() in seen:
            violations.add(f"{field}[{index}].value", "is listed twice")
            continue
        seen.add(value.lower())
        result.append(PointValue(value, label, point.primary))
    if sum(p.primary for p in result) > 1:
        violations.add(field, "only one can be primary")
        return []
    if result and not any(p.primary for p in result):
        result[0] = PointValue(result[0].value, result[0].label, True)
    return sorted(result, key=lambda p: not p.primary)


def with_primary(current: Sequence[PointValue], value: str | None) -> list[PointValue]:
    """The list after the primary was set through the single ``email`` / ``phone`` field: ``value`` becomes
    the primary (keeping the old primary's label; a secondary with that value merges into it); None removes
    the primary and the next one takes its place."""
    primary = next((p for p in current if p.primary), None)
    others = [p for p in current if not p.primary and (value is None or p.value.lower() != value.lower())]
    if value is None:
        return [PointValue(others[0].value, others[0].label, True), *others[1:]] if others else []
    label = primary.label if primary else next((p.label for p in current if p.value == value), "other")
    return [PointValue(value, label, True), *others][:MAX_POINTS_PER_KIND]


def read_persons(given: Sequence[ContactPersonInput], region: str | None, violations: Violations) -> list[PersonValue]:
    if len(given) > MAX_CONTACT_PERSONS:
        violations.add("contact_persons", f"at most {MAX_CONTACT_PERSONS} per client")
        return []
    result = []
    for index, person in enumerate(given):
        field = f"contact_persons[{index}]"
        name, role = " ".join(person.name.split()), " ".join(person.role.split())
        if not name:
            violations.add(f"{field}.name", "is required")
        for text, part in ((name, "name"), (role, "role")):
            if len(text) > MAX_PERSON_TEXT:
                violations.add(f"{field}.{part}", f"must be at most {MAX_PERSON_TEXT} characters")
        contact: dict[str, str | None] = {"email": None, "phone": None}
        for kind, raw in (("email", person.email), ("phone", person.phone)):
            if raw.strip():
                try:
                    contact[kind] = _normalize(kind, raw, region)
                except ContactError as exc:
                    violations.add(f"{field}.{kind}", str(exc))
        result.append(PersonValue(name, role, contact["email"], contact["phone"]))
    return result


def sync_points(
    rows: list[ContactPoint], kind: str, wanted: Sequence[PointValue], new_row: Callable[[PointValue], ContactPoint]
) -> bool:
    """Make the rows of ``kind`` say ``wanted`` (in order), keeping the row of each value that stays.
    Returns whether anything changed."""
    mine = [r for r in rows if r.kind == kind]
    if [(r.value, r.label, r.is_primary) for r in sorted(mine, key=lambda r: r.position)] == [
        (p.value, p.label, p.primary) for p in wanted
    ]:
        return False
    by_value = {r.value: r for r in mine}
    kept: list[ContactPoint] = []
    for position, point in enumerate(wanted):
        row = by_value.pop(point.value, None) or new_row(point)
        row.label, row.is_primary, row.position = point.label, point.primary, position
        kept.append(row)
    rows[:] = [r for r in rows if r.kind != kind] + kept
    return True


def points_of(rows: Sequence[ContactPoint], kind: str) -> list[PointValue]:
    return [
        PointValue(r.value, r.label, r.is_primary)
        for r in sorted((r for r in rows if r.kind == kind), key=lambda r: r.position)
    ]
