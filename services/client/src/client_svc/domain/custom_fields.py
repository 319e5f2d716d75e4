"""Custom fields: defined per tenant (label, stable key, type, forms, required), reordered and retired
without losing stored values; values validated against their type.

Values are stored as JSON (text as a string, number as a number, date as "YYYY-MM-DD", multiple choice as
a list in option order, checkbox as a boolean). ``parse_custom_value`` / ``format_custom_value`` turn them
into and out of the text of a CSV cell, so import and export round-trip them by field key.
"""

from __future__ import annotations

import math
import re
import unicodedata
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from client_svc.domain.contact import ContactError, normalize_email, normalize_phone
from platform_core.errors import Conflict, InvalidArgument, NotFound
from platform_core.validation import Violations

FIELD_TYPES = (
    "text",
    "long_text",
    "number",
    "date",
    "single_choice",
    "multiple_choice",
    "checkbox",
    "email",
    "phone",
    "url",
)
CHOICE_TYPES = ("single_choice", "multiple_choice")
FORMS = ("staff", "portal_profile", "booking_request")
MAX_LIVE_FIELDS = 100
MAX_LABEL_LENGTH = 100
MAX_KEY_LENGTH = 50
MAX_OPTIONS = 100
MAX_OPTION_LENGTH = 100
MAX_TEXT = {"text": 500, "long_text": 10_000}
MAX_URL_LENGTH = 2000
MAX_NUMBER = 10**15
_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
_TRUE = {"true", "yes", "y", "1", "x", "on", "checked"}
_FALSE = {"false", "no", "n", "0", "off"}
MULTIPLE_CHOICE_SEPARATOR = ";"

Value = str | int | float | bool | list[str]


class CustomValueError(ValueError):
    pass


@dataclass(eq=False)
class CustomField:
    tenant_id: uuid.UUID
    id: uuid.UUID
    key: str
    label: str
    type: str
    options: list[str]
    required: bool
    forms: list[str]
    position: int
    created_at: datetime
    retired_at: datetime | None = None

    @property
    def retired(self) -> bool:
        return self.retired_at is not None

    def collected_on(self, form: str) -> bool:
        return not self.retired and form in self.forms


@dataclass(eq=False)
class CustomValue:
    """A client's value of one field (the row; part of the Client aggregate)."""

    tenant_id: uuid.UUID
    client_id: uuid.UUID
    field_id: uuid.UUID
    value: Any


def key_from_label(label: str) -> str:
    """A stable slug for a label: "Shoe size (EU)" -> "shoe_size_eu"."""
    ascii_label = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode()
    key = re.sub(r"[^a-z0-9]+", "_", ascii_label.lower()).strip("_")
    if not key or not key[0].isalpha():
        key = f"field_{key}".rstrip("_")
    return key[:MAX_KEY_LENGTH].rstrip("_")


def _label(raw: str, violations: Violations) -> str:
    label = " ".join(raw.split())
    if not label:
        violations.add("label", "is required")
    elif len(label) > MAX_LABEL_LENGTH:
        violations.add("label", f"must be at most {MAX_LABEL_LENGTH} characters")
    return label


def _options(field_type: str, raw: Sequence[str], violations: Violations) -> list[str]:
    options = [" ".join(o.split()) for o in raw]
    if field_type not in CHOICE_TYPES:
        if options:
            violations.add("options", "only choice fields have options")
        return []
    if not options:
        violations.add("options", "a choice field needs at least one option")
    elif len(options) > MAX_OPTIONS:
        violations.add("options", f"at most {MAX_OPTIONS} options")
    elif any(not o or len(o) > MAX_OPTION_LENGTH or MULTIPLE_CHOICE_SEPARATOR in o for o in options):
        violations.add("options", f"each option needs 1 to {MAX_OPTION_LENGTH} characters and no ';'")
    elif len({o.lower() for o in options}) != len(options):
        violations.add("options", "each option once")
    return options


def _forms(raw: Sequence[str], violations: Violations) -> list[str]:
    forms = list(dict.fromkeys(f.strip() for f in raw)) or ["staff"]
    unknown = [f for f in forms if f not in FORMS]
    if unknown:
        violations.add("forms", f"must be among {', '.join(FORMS)}")
    return [f for f in FORMS if f in forms]


class CustomFieldCatalogue:
    """Every custom field of one tenant; the rules that span them (unique keys and labels, order)."""

    def __init__(self, tenant_id: uuid.UUID, fields: list[CustomField]) -> None:
        self.tenant_id = tenant_id
        self.fields = fields

    def live(self) -> list[CustomField]:
        return sorted((f for f in self.fields if not f.retired), key=lambda f: (f.position, f.label))

    def all(self) -> list[CustomField]:
        retired = sorted((f for f in self.fields if f.retired), key=lambda f: f.label.lower())
        return self.live() + retired

    def get(self, field_id: uuid.UUID) -> CustomField:
        found = next((f for f in self.fields if f.id == field_id), None)
        if found is None:
            raise NotFound("custom field not found")
        return found

    def by_key(self, key: str) -> CustomField | None:
        return next((f for f in self.fields if f.key == key), None)

    def _unique_label(self, label: str, except_id: uuid.UUID | None = None) -> None:
        if any(f.label.lower() == label.lower() and f.id != except_id for f in self.live()):
            raise Conflict(f"a custom field named {label!r} already exists", reason="CUSTOM_FIELD_LABEL_TAKEN")

    def create(
        self,
        *,
        field_id: uuid.UUID,
        label: str,
        key: str,
        field_type: str,
        options: Sequence[str],
        required: bool,
        forms: Sequence[str],
        now: datetime,
    ) -> CustomField:
        violations = Violations()
        label = _label(label, violations)
        key = key.strip() or key_from_label(label)
        if len(key) > MAX_KEY_LENGTH or not _KEY.match(key):
            violations.add(
                "key", f"must be lower-case letters, digits and _, starting with a letter, at most {MAX_KEY_LENGTH}"
            )
        if field_type not in FIELD_TYPES:
            violations.add("type", f"must be one of {', '.join(FIELD_TYPES)}")
        cleaned_options = _options(field_type, options, violations)
        cleaned_forms = _forms(forms, violations)
        violations.raise_if_any()
        if len(self.live()) >= MAX_LIVE_FIELDS:
            raise Conflict(f"at most {MAX_LIVE_FIELDS} custom fields; retire one first", reason="CUSTOM_FIELD_LIMIT")
        self._unique_label(label)
        if self.by_key(key) is not None:
            raise Conflict(f"the key {key!r} is taken (retired fields keep theirs)", reason="CUSTOM_FIELD_KEY_TAKEN")
        position = max((f.position for f in self.fields), default=-1) + 1
        created = CustomField(
            self.tenant_id, field_id, key, label, field_type, cleaned_options, required, cleaned_forms, position, now
        )
        self.fields.append(created)
        return created

    def update(
        self,
        field_id: uuid.UUID,
        *,
        label: str | None = None,
        options: Sequence[str] | None = None,
        required: bool | None = None,
        forms: Sequence[str] | None = None,
        retired: bool | None = None,
        now: datetime,
    ) -> CustomField:
        """The key and type never change (stored values and import/export depend on them). Removing an option
        keeps the values that used it."""
        target = self.get(field_id)
        violations = Violations()
        new_label = _label(label, violations) if label is not None else target.label
        new_options = _options(target.type, options, violations) if options is not None else target.options
        new_forms = _forms(forms, violations) if forms is not None else target.forms
        violations.raise_if_any()
        if retired is False and target.retired:
            if len(self.live()) >= MAX_LIVE_FIELDS:
                raise Conflict(f"at most {MAX_LIVE_FIELDS} custom fields", reason="CUSTOM_FIELD_LIMIT")
            target.retired_at = None
            target.position = max((f.position for f in self.fields), default=-1) + 1
        if not target.retired:
            self._unique_label(new_label, except_id=target.id)
        target.label, target.options, target.forms = new_label, list(new_options), list(new_forms)
        if required is not None:
            target.required = required
        if retired:
            self.retire(field_id, now=now)
        return target

    def retire(self, field_id: uuid.UUID, *, now: datetime) -> CustomField:
        target = self.get(field_id)
        if not target.retired:
            target.retired_at = now
        return target

    def reorder(self, ids: Sequence[uuid.UUID]) -> list[CustomField]:
        live = self.live()
        if len(ids) != len(set(ids)) or set(ids) != {f.id for f in live}:
            raise InvalidArgument.single("ids", "must list every live custom field exactly once")
        for position, field_id in enumerate(ids):
            self.get(field_id).position = position
        return self.live()


# --- values --------------------------------------------------------------------------------------


def _number(value: float) -> int | float:
    if not math.isfinite(value) or abs(value) > MAX_NUMBER:
        raise CustomValueError(f"must be a number between -{MAX_NUMBER} and {MAX_NUMBER}")
    return int(value) if float(value).is_integer() else float(value)


def _choice(definition: CustomField, raw: str) -> str:
    wanted = " ".join(raw.split()).lower()
    for option in definition.options:
        if option.lower() == wanted:
            return option
    raise CustomValueError(f"must be one of: {', '.join(definition.options)}")


def _url(raw: str) -> str:
    value = raw.strip()
    parts = urlsplit(value)
    if len(value) > MAX_URL_LENGTH or parts.scheme not in ("http", "https") or not parts.netloc or " " in value:
        raise CustomValueError("must be an http(s) address, e.g. https://example.com")
    return value


def _text(definition: CustomField, raw: str) -> str | None:
    if definition.type == "text":
        raw = " ".join(raw.split())
    value = raw.strip()
    limit = MAX_TEXT.get(definition.type, MAX_TEXT["text"])
    if len(value) > limit:
        raise CustomValueError(f"must be at most {limit} characters")
    return value or None


def validate_value(definition: CustomField, value: object, *, region: str | None = None) -> Value | None:
    """The stored form of a value as an API caller sent it (JSON); None when it is empty (no value)."""
    if value is None or value == "" or value == []:
        return None
    match definition.type:
        case "number":
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise CustomValueError("must be a number")
            return parse_custom_value(definition, value) if isinstance(value, str) else _number(value)
        case "checkbox":
            if not isinstance(value, bool):
                raise CustomValueError("must be true or false")
            return value
        case "multiple_choice":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise CustomValueError("must be a list of options")
            chosen = {_choice(definition, v) for v in value}
            return [o for o in definition.options if o in chosen]
    if not isinstance(value, str):
        raise CustomValueError("must be a string")
    return parse_custom_value(definition, value, region=region)


def parse_custom_value(definition: CustomField, raw_text: str, *, region: str | None = None) -> Value | None:
    """The stored form of a value written as text (a CSV cell, a form field); None when empty.

    number "1234.5"; date "2024-05-31"; multiple choice "Yoga; Pilates"; checkbox "yes"/"no" (also
    true/false, 1/0, x); email and phone normalized (phone read in ``region`` when national).
    """
    text = raw_text.strip()
    if definition.type in MAX_TEXT:
        return _text(definition, raw_text)
    if not text:
        return None
    try:
        match definition.type:
            case "number":
                try:
                    return _number(float(text.replace(" ", "").replace(",", "")))
                except ValueError:
                    raise CustomValueError("must be a number") from None
            case "date":
                try:
                    return date.fromisoformat(text).isoformat()
                except ValueError:
                    raise CustomValueError("must be a date like 2024-05-31") from None
            case "single_choice":
                return _choice(definition, text)
            case "multiple_choice":
                chosen = {_choice(definition, part) for part in text.split(MULTIPLE_CHOICE_SEPARATOR) if part.strip()}
                return [o for o in definition.options if o in chosen] or None
            case "checkbox":
                if text.lower() in _TRUE:
                    return True
                if text.lower() in _FALSE:
                    return False
                raise CustomValueError("must be yes or no")
            case "email":
                return normalize_email(text)
            case "phone":
                return normalize_phone(text, region)
            case "url":
                return _url(text)
    except ContactError as exc:
        raise CustomValueError(str(exc)) from exc
    raise CustomValueError(f"unknown field type {definition.type}")


def format_custom_value(definition: CustomField, value: object) -> str:
    """The text of a stored value, as ``parse_custom_value`` reads it back ("" for none)."""
    if value is None:
        return ""
    if definition.type == "checkbox":
        return "yes" if value else "no"
    if definition.type == "multiple_choice" and isinstance(value, list):
        return f"{MULTIPLE_CHOICE_SEPARATOR} ".join(str(v) for v in value)
    if definition.type == "number" and isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass
class ValueChange:
    """What a request does to a client's values: field id -> new value (None removes it)."""

    values: dict[uuid.UUID, Value | None] = field(default_factory=dict)


def fills_required(value: Value | None) -> bool:
    """Whether a value answers a required field: an unchecked checkbox does not."""
    return value is not None and value is not False


def read_values(
    catalogue: CustomFieldCatalogue,
    given: Mapping[str, object],
    *,
    form: str,
    creating: bool,
    region: str | None,
    violations: Violations,
) -> ValueChange:
    """Validate the values a create or update sends by field key. Staff may set any live field; other forms
    only the fields they collect. Required fields collected on the form must have a value: on create, every
    one; on update, none may be cleared. A checkbox counts as given only when checked."""
    change = ValueChange()
    if form not in FORMS:
        violations.add("form", f"must be one of {', '.join(FORMS)}")
        return change
    for key, raw in given.items():
        where = f"custom_fields.{key}"
        definition = catalogue.by_key(key)
        if definition is None:
            violations.add(where, "is not a custom field of this business")
            continue
        if definition.retired:
            violations.add(where, "is retired; its stored value can only be read")
            continue
        if form != "staff" and not definition.collected_on(form):
            violations.add(where, "is not collected on this form")
            continue
        try:
            change.values[definition.id] = validate_value(definition, raw, region=region)
        except CustomValueError as exc:
            violations.add(where, str(exc))
    refused = {v.field for v in violations.found}
    for definition in catalogue.live():
        if not (definition.required and definition.collected_on(form)):
            continue
        if f"custom_fields.{definition.key}" in refused:
            continue  # its value was refused already; one message per field
        missing = definition.id not in change.values if creating else False
        value = change.values.get(definition.id)
        if missing or (definition.id in change.values and not fills_required(value)):
            violations.add(f"custom_fields.{definition.key}", "is required")
    return change


def apply_values(
    rows: list[CustomValue], change: ValueChange, new_row: Callable[[uuid.UUID, Value], CustomValue]
) -> bool:
    """Write the change into the client's rows; returns whether anything changed."""
    changed = False
    by_field = {r.field_id: r for r in rows}
    for field_id, value in change.values.items():
        row = by_field.get(field_id)
        if value is None:
            if row is not None:
                rows.remove(row)
                changed = True
        elif row is None:
            rows.append(new_row(field_id, value))
            changed = True
        elif row.value != value:
            row.value = value
            changed = True
    return changed
