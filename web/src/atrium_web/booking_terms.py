"""What staff read before they confirm a booking or a cancellation: which of the client's credits would pay for
the visit, and the cancellation terms it is under (or that cancelling now meets), in words and the viewer's
formatting. The shapes are the gateway's credit quote and cancellation terms."""

from __future__ import annotations

from typing import Any

from atrium_web.formatting import Formatter
from atrium_web.views.cancellation_policy import outcome_in_words


def credits_amount(fmt: Formatter, units: int, credit_type: dict[str, Any] | None) -> str:
    """Units of a credit type: money for a money credit, else a count of its unit ("3 sessions")."""
    if credit_type is None:
        return f"{fmt.number(units)} credit{'s' if units != 1 else ''}"
    if credit_type.get("currency"):
        return fmt.money({"amount_minor": units, "currency": credit_type["currency"]})
    unit = str(credit_type["unit"] or "credit")
    plural = "s" if units != 1 and not unit.endswith("s") else ""
    return f"{fmt.number(units)} {unit}{plural} of {credit_type['name']}"


def payment_in_words(fmt: Formatter, quote: dict[str, Any]) -> str:
    """Which entitlement pays for the visit, as the credit quote says."""
    if not quote["uses_credits"]:
        return "Not paid with credits: the service's price is charged as usual."
    needed = credits_amount(fmt, quote["units"], quote["credit_type"])
    if not quote["covered"]:
        return f"The client's credits do not cover it ({needed} needed): the price is charged as usual."
    expiring = [lot["expires_at"] for lot in quote["lots"] if lot.get("expires_at")]
    until = f" (the first of them expire {fmt.date(min(expiring), 'medium')})" if expiring else ""
    return f"Paid with the client's credits: {needed}{until}."


def cost_in_words(fmt: Formatter, cost: dict[str, Any], credit_types: dict[str, dict[str, Any]]) -> str:
    """A cancellation's or a no-show's cost: free, the fee invoiced, the credits kept (or both)."""
    parts = []
    if cost.get("fee"):
        parts.append(f"a fee of {fmt.money(cost['fee'])}")
    if cost.get("forfeit"):
        forfeit = cost["forfeit"]
        parts.append(f"{credits_amount(fmt, forfeit['units'], credit_types.get(forfeit['credit_type_id']))} kept")
    if not parts and cost["outcome"]["kind"] != "free":
        # The rule charges, but this client would pay nothing (no price, or no credits that would pay).
        return "nothing for this client"
    return " and ".join(parts) or "free"


def window_in_words(window: dict[str, Any]) -> str:
    if window.get("within_hours") is not None:
        return f"{window['within_hours']} hour{'s' if window['within_hours'] != 1 else ''}"
    days = window.get("within_days") or 0
    return f"{days} day{'s' if days != 1 else ''}"


def terms_in_words(
    fmt: Formatter, terms: dict[str, Any] | None, credit_types: dict[str, dict[str, Any]], *, booking: bool
) -> list[str]:
    """The terms as sentences: until when cancelling is free, what cancelling (now, or later) and not coming
    cost. ``booking``: the terms of a booking about to be made, else of cancelling an appointment now."""
    if not terms or not terms["services"]:
        return ["No cancellation policy applies: cancelling and not coming are free."]
    lines = []
    for service in terms["services"]:
        if service["policy"] is None:
            lines.append("No cancellation policy applies: cancelling and not coming are free.")
            continue
        cancel = cost_in_words(fmt, service["cancel_now"], credit_types)
        if service["free_until"]:
            later = "; ".join(
                f"within {window_in_words(w)} before, {outcome_in_words(fmt, w['outcome'])}"
                for w in service["policy"]["windows"]
            )
            lines.append(f"Cancelling is free until {fmt.datetime(service['free_until'], 'full')}; later: {later}.")
        elif service["window"] is None:
            lines.append("Cancelling is free.")
        else:
            lines.append(f"Cancelling {'it' if booking else 'now'} costs {cancel}.")
        lines.append(f"Not coming costs {cost_in_words(fmt, service['no_show'], credit_types)}.")
    return list(dict.fromkeys(lines))
