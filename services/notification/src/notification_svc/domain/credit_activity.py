"""Timeline summaries of a client's credits (the membership ledger) and check-ins."""

from __future__ import annotations

from platform_core.money import format_minor, is_currency

# What an entry of each kind says once its client's personal data was erased.
CREDIT_KINDS = {
    "billing.credits_charged": "Credits given",
    "billing.credits_used": "Credits used",
    "billing.credits_expired": "Credits expired",
    "billing.credits_restored": "Credits given back",
    "billing.checked_in": "Checked in",
}


def credit_amount(amount: int, unit: str) -> str:
    """'10 sessions', '1 session'; a money-valued type's amount is minor units of its currency."""
    if is_currency(unit):
        return format_minor(amount, unit)
    plural = unit if amount == 1 or unit.endswith("s") else f"{unit}s"
    return f"{amount} {plural}"


def _of(credit_type_name: str) -> str:
    return f" of {credit_type_name}" if credit_type_name else ""


def charged_summary(amount: int, unit: str, credit_type_name: str) -> str:
    return f"Credits given: {credit_amount(amount, unit)}{_of(credit_type_name)}"


def used_summary(amount: int, unit: str, credit_type_name: str, balance_after: int) -> str:
    return (
        f"Credits used: {credit_amount(amount, unit)}{_of(credit_type_name)}, {credit_amount(balance_after, unit)} left"
    )


def expired_summary(amount: int, unit: str, credit_type_name: str) -> str:
    return f"Credits expired: {credit_amount(amount, unit)}{_of(credit_type_name)} unused"


def restored_summary(amount: int, unit: str, credit_type_name: str) -> str:
    return f"Credits given back: {credit_amount(amount, unit)}{_of(credit_type_name)}"


def checked_in_summary(method: str, units_used: int, *, for_appointment: bool) -> str:
    how = " with the membership card" if method == "card" else ""
    what = " for an appointment" if for_appointment else ""
    used = f", {units_used} credit{'s' if units_used != 1 else ''} used" if units_used else ""
    return f"Checked in{what}{how}{used}"
