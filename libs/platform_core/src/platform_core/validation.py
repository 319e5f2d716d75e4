"""One collector for every broken input rule of a request, so they are reported at once, by field."""

from __future__ import annotations

from platform_core.errors import FieldViolation, InvalidArgument
from platform_core.money import is_currency


class Violations:
    def __init__(self) -> None:
        self.found: list[FieldViolation] = []

    def add(self, field: str, message: str) -> None:
        self.found.append(FieldViolation(field, message))

    def text(self, value: str, field: str, *, max_length: int, required: bool = False) -> str:
        value = value.strip()
        if required and not value:
            self.add(field, "is required")
        elif len(value) > max_length:
            self.add(field, f"must be at most {max_length} characters")
        return value

    def currency(self, value: str, field: str) -> str:
        code = value.strip().upper()
        if not is_currency(code):
            self.add(field, "is not an ISO 4217 currency code, e.g. EUR")
        return code

    def raise_if_any(self) -> None:
        if self.found:
            raise InvalidArgument(self.found)
