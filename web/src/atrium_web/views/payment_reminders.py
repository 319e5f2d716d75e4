"""The payment reminder rule in the staff console's settings: on which days around an invoice's due date an
unpaid invoice is reminded (before, on, after), by which channels and at what time of the client's day; saved
for invoices issued from then on, or back to the default."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from atrium_web.pages import flash, redirect, signed_in
from atrium_web.sessions import UserApi
from atrium_web.views.settings import REMINDER_CHANNELS, FormError, apply
from atrium_web.views.staff import console

RULE, PAGE = "/api/v1/payment-reminder-rule", "/settings/payment-reminders"


def reminder_days(text: str) -> list[int]:
    """Days typed as a list ("-3, 0, 7"): before the due date negative, after it positive; each once, in order."""
    days = set()
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            days.add(int(part))
        except ValueError:
            raise FormError(f"days: {part!r} is not a whole number of days") from None
    if not days:
        raise FormError("days: give at least one day")
    return sorted(days)


def day_in_words(day: int) -> str:
    if day == 0:
        return "on the due date"
    count = f"{abs(day)} day{'s' if abs(day) != 1 else ''}"
    return f"{count} before the due date" if day < 0 else f"{count} overdue"


def rule_body(form: Any) -> dict[str, Any]:
    channels = [c for c in REMINDER_CHANNELS if form.get(f"channel-{c}") == "on"]
    if not channels:
        raise FormError("channels: choose at least one")
    return {
        "days": reminder_days(str(form.get("days", ""))),
        "channels": channels,
        "send_at": str(form.get("send_at", "")),
    }


@signed_in("staff")
async def rule_page(request: web.Request, api: UserApi) -> web.StreamResponse:
    rule = await api.get(RULE)
    return await console(
        request,
        api,
        "staff/settings/payment_reminders.html",
        rule=rule,
        days_text=", ".join(str(d) for d in rule["days"]),
        in_words=[day_in_words(d) for d in rule["days"]],
        channel_words=" and ".join(REMINDER_CHANNELS[c].lower() for c in rule["channels"]),
        channels=REMINDER_CHANNELS,
    )


@signed_in("staff")
async def save_rule(request: web.Request, api: UserApi) -> web.StreamResponse:
    try:
        body = rule_body(await request.post())
    except FormError as error:
        await flash(request, f"Not saved: {error}.")
        return redirect(request, PAGE)
    return await apply(request, api, "PUT", RULE, body, "The payment reminders are saved.", PAGE)


@signed_in("staff")
async def default_rule(request: web.Request, api: UserApi) -> web.StreamResponse:
    return await apply(request, api, "DELETE", RULE, None, "The payment reminders are back to the default.", PAGE)


def register(router: web.UrlDispatcher) -> None:
    router.add_get(PAGE, rule_page)
    router.add_post(PAGE, save_rule)
    router.add_post(f"{PAGE}/default", default_rule)
