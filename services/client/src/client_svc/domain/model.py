"""The Client aggregate: identity, contact details and lifecycle (soft delete, online-booking block)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from client_svc.domain import commands, events
from client_svc.domain.contact import ContactError, normalize_email, normalize_phone, normalize_region
from client_svc.domain.contact_details import (
    ContactPerson,
    ContactPersonInput,
    ContactPoint,
    ContactPointInput,
    PersonValue,
    PointValue,
    points_of,
    read_persons,
    read_points,
    sync_points,
    with_primary,
)
from client_svc.domain.custom_fields import (
    CustomFieldCatalogue,
    CustomValue,
    ValueChange,
    apply_values,
    fills_required,
    read_values,
)
from client_svc.domain.profile import Address, Profile, read_profile
from client_svc.domain.statuses import ClientStatus
from platform_core.errors import FailedPrecondition, FieldViolation, InvalidArgument
from platform_core.ids import new_id
from platform_core.validation import Violations

MAX_NAME_LENGTH = 100
MAX_REQUEST_ID_LENGTH = 200
MAX_REASON_LENGTH = 500
MAX_ASSIGNED_STAFF = 20
MAX_TAGS = 30
MAX_TAG_LENGTH = 40


@dataclass(eq=False)
class ClientTag:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    tag: str


@dataclass(eq=False)
class StaffAssignment:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    staff_id: uuid.UUID
    assigned_at: datetime


class _ClientChecks(Violations):
    """The collector, with the readers of a client's own fields (each adds the violations it finds)."""

    def name(self, value: str, field: str, *, required: bool) -> str:
        return self.text(value, field, max_length=MAX_NAME_LENGTH, required=required)

    def email(self, raw: str) -> str | None:
        if not raw.strip():
            return None
        try:
            return normalize_email(raw)
        except ContactError as exc:
            self.add("email", str(exc))
            return None

    def region(self, raw: str) -> str | None:
        try:
            return normalize_region(raw)
        except ContactError as exc:
            self.add("default_region", str(exc))
            return None

    def phone(self, raw: str, region: str | None) -> str | None:
        if not raw.strip():
            return None
        try:
            return normalize_phone(raw, region)
        except ContactError as exc:
            self.add("phone", str(exc))
            return None

    def point_list(
        self,
        kind: str,
        given: tuple[ContactPointInput, ...] | None,
        single_raw: str | None,
        single: str | None,
        region: str | None,
        current: list[PointValue],
    ) -> list[PointValue] | None:
        """The emails (or phones) wanted: the list given, or the current one with the primary set through the
        single field; None when the request changes neither."""
        if given is not None:
            points = read_points(kind, given, region, self)
            if single is not None and (not points or points[0].value != single):
                self.add(kind, f"must be the primary of {kind}s when both are given")
            return points
        if single_raw is None:
            return None
        return with_primary(current, single)

    def persons(
        self, given: tuple[ContactPersonInput, ...] | None, region: str | None, kind: str, existing: bool
    ) -> list[PersonValue] | None:
        persons = read_persons(given, region, self) if given is not None else None
        if kind != "business" and (persons or (persons is None and existing)):
            self.add("contact_persons", "only a business client has contact persons")
        return persons

    def custom(
        self,
        catalogue: CustomFieldCatalogue | None,
        cmd: commands.CreateClient | commands.UpdateClient,
        region: str | None,
        *,
        creating: bool,
    ) -> ValueChange:
        if catalogue is None:
            if cmd.custom_fields:
                raise ValueError("custom field values are checked against the tenant's custom fields; pass them")
            return ValueChange()
        form = cmd.form or "staff"
        return read_values(catalogue, cmd.custom_fields, form=form, creating=creating, region=region, violations=self)


@dataclass(eq=False)
class Client:
    tenant_id: uuid.UUID
    id: uuid.UUID
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    created_at: datetime
    updated_at: datetime
    request_id: str | None = None
    deleted_at: datetime | None = None
    online_booking_blocked: bool = False
    # Set when the block ends by itself (the client service's sweep lifts it then).
    online_booking_blocked_until: datetime | None = None
    version: int = 1
    status_id: uuid.UUID | None = None
    assignments: list[StaffAssignment] = field(default_factory=list)
    tag_rows: list[ClientTag] = field(default_factory=list)
    kind: str = "individual"
    company_name: str = ""
    address_line1: str = ""
    address_line2: str = ""
    address_city: str = ""
    address_region: str = ""
    address_postal_code: str = ""
    address_country: str = ""
    date_of_birth: date | None = None
    preferred_language: str = ""
    timezone: str = ""
    source: str = "staff"
    default_invoicing_method: str = "email"
    opening_balance_minor: int | None = None
    opening_balance_currency: str | None = None
    contact_points: list[ContactPoint] = field(default_factory=list)
    contact_persons: list[ContactPerson] = field(default_factory=list)
    custom_values: list[CustomValue] = field(default_factory=list)
    # Merged away: the survivor this record now resolves to (domain/merge.py). Erased: domain/erasure.py.
    merged_into: uuid.UUID | None = None
    merged_at: datetime | None = None
    erased_at: datetime | None = None
    events: list[Any] = field(default_factory=list, repr=False)

    @classmethod
    def register(
        cls,
        cmd: commands.CreateClient,
        *,
        client_id: uuid.UUID,
        now: datetime,
        status: ClientStatus | None = None,
        custom_fields: CustomFieldCatalogue | None = None,
    ) -> Client:
        """A new client from what staff typed; with the tenant's custom fields, their values are checked
        (required ones included) and stored."""
        check = _ClientChecks()
        profile = read_profile(cmd.profile, today=now.date(), violations=check)
        first_name = check.name(cmd.first_name, "first_name", required=profile.kind == "individual")
        last_name = check.name(cmd.last_name, "last_name", required=False)
        if len(cmd.request_id) > MAX_REQUEST_ID_LENGTH:
            check.add("request_id", f"must be at most {MAX_REQUEST_ID_LENGTH} characters")
        region = check.region(cmd.default_region)
        email = check.email(cmd.email)
        phone = check.phone(cmd.phone, region)
        emails = check.point_list("email", cmd.emails, cmd.email, email, region, []) or []
        phones = check.point_list("phone", cmd.phones, cmd.phone, phone, region, []) or []
        persons = check.persons(cmd.contact_persons, region, profile.kind, existing=False) or []
        values = check.custom(custom_fields, cmd, region, creating=True)
        check.raise_if_any()
        email = emails[0].value if emails else None
        phone = phones[0].value if phones else None

        client = cls(
            tenant_id=cmd.tenant_id,
            id=client_id,
            first_name=first_name,
            last_name=last_name,
            email=email,
            phone=phone,
            created_at=now,
            updated_at=now,
            request_id=cmd.request_id or None,
            status_id=status.id if status else None,
        )
        client._apply_profile(profile)
        client._set_contacts(emails, phones, persons)
        client._set_custom(values)
        client.events.append(
            events.ClientCreated(
                tenant_id=client.tenant_id,
                client_id=client.id,
                first_name=client.first_name,
                last_name=client.last_name,
                email=client.email,
                phone=client.phone,
                occurred_at=now,
                kind=client.kind,
                company_name=client.company_name,
                source=client.source,
                opening_balance_minor=client.opening_balance_minor,
                opening_balance_currency=client.opening_balance_currency,
                preferred_language=client.preferred_language,
                timezone=client.timezone,
                **client._contact_details(),
            )
        )
        return client

    def _set_custom(self, change: ValueChange) -> bool:
        return apply_values(
            self.custom_values, change, lambda field_id, value: CustomValue(self.tenant_id, self.id, field_id, value)
        )

    def _contact_details(self) -> dict[str, Any]:
        return {
            "emails": tuple(points_of(self.contact_points, "email")),
            "phones": tuple(points_of(self.contact_points, "phone")),
            "contact_persons": tuple(p.values for p in sorted(self.contact_persons, key=lambda p: p.position)),
        }

    def _set_contacts(
        self, emails: list[PointValue] | None, phones: list[PointValue] | None, persons: list[PersonValue] | None
    ) -> tuple[str, ...]:
        """Replace the lists given (None: keep); returns the names of those that changed."""
        changed: tuple[str, ...] = ()
        for kind, wanted in (("email", emails), ("phone", phones)):
            if wanted is not None and sync_points(
                self.contact_points,
                kind,
                wanted,
                lambda p, kind=kind: ContactPoint(  # type: ignore[misc]
                    self.tenant_id, self.id, new_id(), kind, p.value, p.label, p.primary, 0
                ),
            ):
                changed += (f"{kind}s",)
        current = [p.values for p in sorted(self.contact_persons, key=lambda p: p.position)]
        if persons is not None and persons != current:
            self.contact_persons[:] = [
                ContactPerson(self.tenant_id, self.id, new_id(), position, p.name, p.role, p.email, p.phone)
                for position, p in enumerate(persons)
            ]
            changed += ("contact_persons",)
        return changed

    @property
    def profile(self) -> Profile:
        return Profile(
            kind=self.kind,
            company_name=self.company_name,
            address=Address(
                self.address_line1,
                self.address_line2,
                self.address_city,
                self.address_region,
                self.address_postal_code,
                self.address_country,
            ),
            date_of_birth=self.date_of_birth,
            preferred_language=self.preferred_language,
            timezone=self.timezone,
            source=self.source,
            default_invoicing_method=self.default_invoicing_method,
            opening_balance_minor=self.opening_balance_minor,
            opening_balance_currency=self.opening_balance_currency,
        )

    def _apply_profile(self, profile: Profile) -> None:
        self.kind = profile.kind
        self.company_name = profile.company_name
        address = profile.address
        self.address_line1, self.address_line2 = address.line1, address.line2
        self.address_city, self.address_region = address.city, address.region
        self.address_postal_code, self.address_country = address.postal_code, address.country
        self.date_of_birth = profile.date_of_birth
        self.preferred_language = profile.preferred_language
        self.timezone = profile.timezone
        self.source = profile.source
        self.default_invoicing_method = profile.default_invoicing_method
        self.opening_balance_minor = profile.opening_balance_minor
        self.opening_balance_currency = profile.opening_balance_currency

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def require_live(self) -> None:
        self.require_own_record()
        if self.is_deleted:
            raise FailedPrecondition("the client is deleted; restore it first", reason="CLIENT_DELETED")

    def require_own_record(self) -> None:
        """Neither erased nor merged into another client: nothing may change it any more."""
        if self.erased_at is not None:
            raise FailedPrecondition("the client's personal data was erased", reason="CLIENT_ERASED")
        if self.merged_into is not None:
            raise FailedPrecondition(
                f"the client was merged into client {self.merged_into}; change that one", reason="CLIENT_MERGED"
            )

    def _touch(self, now: datetime) -> None:
        self.updated_at = max(now, self.created_at)

    def update(
        self, cmd: commands.UpdateClient, *, now: datetime, custom_fields: CustomFieldCatalogue | None = None
    ) -> None:
        """Apply the fields given; records ClientUpdated naming what changed (nothing changed, no event).
        Custom field values need the tenant's ``custom_fields``."""
        self.require_live()
        check = _ClientChecks()
        proposed: dict[str, Any] = {}
        profile = self.profile
        if cmd.profile is not None:
            profile = read_profile(cmd.profile, today=now.date(), violations=check)
        if cmd.first_name is not None:
            proposed["first_name"] = check.name(cmd.first_name, "first_name", required=profile.kind == "individual")
        elif profile.kind == "individual" and not self.first_name:
            check.add("first_name", "is required for an individual")
        if cmd.last_name is not None:
            proposed["last_name"] = check.name(cmd.last_name, "last_name", required=False)
        phones_touched = cmd.phone is not None or cmd.phones is not None or cmd.contact_persons is not None
        phones_touched = phones_touched or bool(cmd.custom_fields)
        region = check.region(cmd.default_region) if phones_touched else None
        email = check.email(cmd.email) if cmd.email is not None else None
        phone = check.phone(cmd.phone, region) if cmd.phone is not None else None
        current = self.contact_points
        emails = check.point_list("email", cmd.emails, cmd.email, email, region, points_of(current, "email"))
        phones = check.point_list("phone", cmd.phones, cmd.phone, phone, region, points_of(current, "phone"))
        persons = check.persons(cmd.contact_persons, region, profile.kind, existing=bool(self.contact_persons))
        if emails is not None:
            proposed["email"] = emails[0].value if emails else None
        if phones is not None:
            proposed["phone"] = phones[0].value if phones else None
        values = check.custom(custom_fields, cmd, region, creating=False) if cmd.custom_fields else ValueChange()
        if cmd.form == "booking_request" and custom_fields is not None:
            self._check_form_complete(custom_fields, values, "booking_request", check)
        check.raise_if_any()

        changed = tuple(name for name, value in proposed.items() if getattr(self, name) != value)
        if profile != self.profile:
            changed += ("profile",)
            self._apply_profile(profile)
        # A primary set through the single field reads as that field's change only.
        lists = self._set_contacts(emails, phones, persons)
        changed += tuple(n for n in lists if not (n[:-1] in changed and getattr(cmd, n) is None))
        if self._set_custom(values):
            changed += ("custom_fields",)
        if not changed:
            return
        for name in changed:
            if name in proposed:
                setattr(self, name, proposed[name])
        self._record_update(changed, now)

    def delete(self, *, now: datetime) -> None:
        self.require_own_record()
        if self.is_deleted:
            raise FailedPrecondition("the client is already deleted", reason="CLIENT_DELETED")
        self.deleted_at = max(now, self.created_at)
        self._touch(now)
        self.events.append(events.ClientDeleted(self.tenant_id, self.id, now))

    def restore(self, *, now: datetime) -> None:
        self.require_own_record()
        if not self.is_deleted:
            raise FailedPrecondition("the client is not deleted", reason="CLIENT_NOT_DELETED")
        self.deleted_at = None
        self._touch(now)
        self.events.append(events.ClientRestored(self.tenant_id, self.id, now))

    def set_online_booking_blocked(
        self, blocked: bool, *, reason: str, now: datetime, until: datetime | None = None
    ) -> None:
        """Idempotent: asking for the state the client is already in changes nothing. A block with an end
        (``until``) never shortens one in place: a block without an end stays so, a later end stays."""
        self.require_live()
        reason = reason.strip()
        if len(reason) > MAX_REASON_LENGTH:
            raise InvalidArgument.single("reason", f"must be at most {MAX_REASON_LENGTH} characters")
        if until is not None and (not blocked or until <= now):
            raise InvalidArgument.single("blocked_until", "a block's end must be a later instant")
        was_blocked = self.online_booking_blocked
        if blocked and was_blocked and until is not None:
            current = self.online_booking_blocked_until
            if current is None or current >= until:
                return
        if blocked == was_blocked and (not blocked or until == self.online_booking_blocked_until):
            return
        self.online_booking_blocked = blocked
        self.online_booking_blocked_until = until if blocked else None
        self._touch(now)
        if blocked and not was_blocked:
            self.events.append(events.ClientBookingBlocked(self.tenant_id, self.id, reason, now))
        elif not blocked:
            self.events.append(events.ClientBookingUnblocked(self.tenant_id, self.id, now))

    def lift_ended_block(self, now: datetime) -> None:
        """The block's end has come (the sweep's call): the client may book online again. Lifted for a deleted
        client too, so that restoring it does not restore an ended block."""
        if self.online_booking_blocked_until is None or self.online_booking_blocked_until > now:
            return
        self.online_booking_blocked = False
        self.online_booking_blocked_until = None
        self._touch(now)
        self.events.append(events.ClientBookingUnblocked(self.tenant_id, self.id, now))

    def change_status(self, to: ClientStatus, *, previous: ClientStatus | None, now: datetime) -> None:
        """Records ClientStatusChanged (for the timeline); the same status again changes nothing."""
        self.require_live()
        if to.archived:
            raise FailedPrecondition("this status is archived", reason="STATUS_ARCHIVED")
        if to.id == self.status_id:
            return
        self.status_id = to.id
        self._touch(now)
        self.events.append(
            events.ClientStatusChanged(
                tenant_id=self.tenant_id,
                client_id=self.id,
                from_status_id=previous.id if previous else None,
                from_label=previous.label if previous else "",
                to_status_id=to.id,
                to_label=to.label,
                occurred_at=now,
            )
        )

    @property
    def assigned_staff_ids(self) -> list[uuid.UUID]:
        return [a.staff_id for a in sorted(self.assignments, key=lambda a: (a.assigned_at, a.staff_id))]

    @property
    def tags(self) -> list[str]:
        return sorted((t.tag for t in self.tag_rows), key=str.lower)

    def set_tags(self, tags: list[str], *, now: datetime) -> None:
        """Replace the tags: tidied, one per spelling whatever the case; ClientUpdated when they change."""
        self.require_live()
        wanted: dict[str, str] = {}
        for raw in tags:
            tag = " ".join(raw.split())
            if not tag or len(tag) > MAX_TAG_LENGTH:
                raise InvalidArgument.single("tags", f"each tag needs 1 to {MAX_TAG_LENGTH} characters")
            wanted.setdefault(tag.lower(), tag)
        if len(wanted) > MAX_TAGS:
            raise InvalidArgument.single("tags", f"at most {MAX_TAGS} tags per client")
        if sorted(wanted.values(), key=str.lower) == self.tags:
            return
        kept = [t for t in self.tag_rows if wanted.get(t.tag.lower()) == t.tag]
        have = {t.tag.lower() for t in kept}
        self.tag_rows[:] = kept + [
            ClientTag(self.tenant_id, self.id, tag) for key, tag in wanted.items() if key not in have
        ]
        self._record_update(("tags",), now)

    def assign_staff(self, staff_ids: list[uuid.UUID], *, now: datetime) -> None:
        """Replace who is assigned; records ClientUpdated when the set changes."""
        self.require_live()
        wanted = list(dict.fromkeys(staff_ids))
        if len(wanted) > MAX_ASSIGNED_STAFF:
            raise InvalidArgument.single("staff_ids", f"at most {MAX_ASSIGNED_STAFF} staff members per client")
        if set(wanted) == set(self.assigned_staff_ids):
            return
        kept = [a for a in self.assignments if a.staff_id in wanted]
        have = {a.staff_id for a in kept}
        self.assignments[:] = kept + [
            StaffAssignment(self.tenant_id, self.id, staff_id, now) for staff_id in wanted if staff_id not in have
        ]
        self._record_update(("assigned_staff",), now)

    def _check_form_complete(
        self, catalogue: CustomFieldCatalogue, change: ValueChange, form: str, violations: Violations
    ) -> None:
        """A form answered whole (a booking request): each required field it collects has a value after the
        change, given now or held already."""

        held = {v.field_id for v in self.custom_values if fills_required(v.value)}
        for definition in catalogue.live():
            if not (definition.required and definition.collected_on(form)):
                continue
            if definition.id in change.values:
                answered = fills_required(change.values[definition.id])
            else:
                answered = definition.id in held
            missing = FieldViolation(f"custom_fields.{definition.key}", "is required")
            if not answered and missing not in violations.found:
                violations.add(missing.field, missing.message)

    def note_custom_values_changed(self, *, now: datetime) -> None:
        """Custom values were stored beside ``update`` (an import writes them itself): the change's
        ClientUpdated says so, or one is recorded for it."""
        for index, event in enumerate(self.events):
            if isinstance(event, events.ClientUpdated):
                if "custom_fields" not in event.changed_fields:
                    self.events[index] = replace(event, changed_fields=(*event.changed_fields, "custom_fields"))
                return
        self._record_update(("custom_fields",), now)

    def _record_update(self, changed: tuple[str, ...], now: datetime) -> None:
        self._touch(now)
        self.events.append(
            events.ClientUpdated(
                tenant_id=self.tenant_id,
                client_id=self.id,
                changed_fields=changed,
                first_name=self.first_name,
                last_name=self.last_name,
                email=self.email,
                phone=self.phone,
                occurred_at=now,
                preferred_language=self.preferred_language,
                timezone=self.timezone,
                **self._contact_details(),
            )
        )
