"""A business's custom fields on a form: each field's value as its input shows it, and as the API takes it.

Inputs are named ``custom.<key>``; an empty input clears the value (null), a checkbox is true or false.
"""

from __future__ import annotations

from typing import Any

PREFIX = "custom."
API_PREFIX = "custom_fields."
INPUT_TYPES = {"text": "text", "email": "email", "phone": "tel", "url": "url", "date": "date", "number": "number"}


def input_name(field: dict[str, Any]) -> str:
    return PREFIX + str(field["key"])


def shown(field: dict[str, Any], value: Any) -> Any:
    """A stored value as the field's input shows it: a list for multiple choice, a bool for a checkbox."""
    if field["type"] == "multiple_choice":
        return [str(v) for v in value] if isinstance(value, list) else []
    if field["type"] == "checkbox":
        return value is True
    return "" if value is None else str(value)


def submitted(field: dict[str, Any], form: Any) -> Any:
    """The form's value for the field as the API takes it; ValueError when a number is not one."""
    name = input_name(field)
    if field["type"] == "multiple_choice":
        chosen = [str(v) for v in form.getall(name, [])]
        return chosen or None
    if field["type"] == "checkbox":
        return form.get(name) == "on"
    raw = str(form.get(name, "")).strip()
    if not raw:
        return None
    if field["type"] == "number":
        number = float(raw)
        return int(number) if number.is_integer() else number
    return raw


def displayed(fields: list[dict[str, Any]], stored: dict[str, Any], form: Any = None) -> dict[str, Any]:
    """Each field's input value by key: as stored, or as typed when ``form`` is sent back with its errors (a
    number that is not one stays as typed)."""
    values = {}
    for field in fields:
        value = stored.get(field["key"])
        if form is not None:
            try:
                value = submitted(field, form)
            except ValueError:
                value = str(form.get(input_name(field), ""))
        values[field["key"]] = shown(field, value)
    return values


def answers(fields: list[dict[str, Any]], form: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """(the form's answers by key, problems by input name) for a form answered whole (a booking request):
    only what was given, so an answer kept on the client's record is never cleared by an empty input."""
    given: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for field in fields:
        try:
            value = submitted(field, form)
        except ValueError:
            problems[input_name(field)] = "Enter a number."
            continue
        if value is not None and value is not False:
            given[field["key"]] = value
    return given, problems


def changes(fields: list[dict[str, Any]], current: dict[str, Any], form: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """(what changed by key, problems by input name): only changed values are sent, unchanged ones stay."""
    changed: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for field in fields:
        try:
            value = submitted(field, form)
        except ValueError:
            problems[input_name(field)] = "Enter a number."
            continue
        if shown(field, value) != shown(field, current.get(field["key"])):
            changed[field["key"]] = value
    return changed, problems


def problem_field(api_field: str, prefix: str = API_PREFIX) -> str:
    """An API problem's field (``custom_fields.<key>``, or ``answers.<key>`` of a request) as the input's name."""
    return PREFIX + api_field.removeprefix(prefix)


def split_problems(errors: dict[str, str], prefix: str = API_PREFIX) -> tuple[dict[str, str], dict[str, str]]:
    """(a problem's errors of custom fields by input name, the others as they are)."""
    custom = {problem_field(k, prefix): v for k, v in errors.items() if k.startswith(prefix)}
    return custom, {k: v for k, v in errors.items() if not k.startswith(prefix)}
