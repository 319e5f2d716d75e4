import pytest

from platform_core.errors import InvalidArgument
from platform_core.validation import Violations


def test_every_broken_rule_is_reported_at_once_by_field() -> None:
    violations = Violations()
    name = violations.text("  ", "name", max_length=10, required=True)
    note = violations.text("x" * 11, "note", max_length=10)
    currency = violations.currency(" eur ", "currency")
    violations.currency("QQQ", "price.currency")

    assert (name, currency) == ("", "EUR")
    assert len(note) == 11
    with pytest.raises(InvalidArgument) as raised:
        violations.raise_if_any()
    assert [(v.field, v.message) for v in raised.value.violations] == [
        ("name", "is required"),
        ("note", "must be at most 10 characters"),
        ("price.currency", "is not an ISO 4217 currency code, e.g. EUR"),
    ]


def test_nothing_broken_raises_nothing() -> None:
    violations = Violations()
    assert violations.text(" Ada ", "name", max_length=10, required=True) == "Ada"
    violations.raise_if_any()
