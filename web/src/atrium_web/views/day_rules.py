"""Rules that remind clients on days around a date, in the staff console's settings: the payment reminder rule
(days around an unpaid invoice's due date) and the membership-expiry rule (days around a membership's end,
those after it while its tolerance lasts). Each says on which days, by which channels and at what time of the
client's day; it is saved, or set back to the default. Both rules have one shape in the API, so one page
serves them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from atrium_web.pages import flash, redirect, signed_in
from atrium_web.sessions import UserApi
from atrium_web.views.settings import REMINDER_CHANNELS, FormError, apply
from atrium_web.views.staff import console


@dataclass(frozen=True)
class DayRule:
    api: str
    page: str
    title: str
    date_name: str  # the date the days count from, as said in a sentence
    after: str  # a day after that date, as said in a sentence ("overdue", "after the expiry")
    subject: str  # who or what is reminded, starting the sentence
    hint: str  # the form's days, explained
    applies: str  # what a saved rule applies to

    def day_in_words(self, day: int) -> str:
        if day == 0:
            return f"on the {self.date_name}"
        count = f"{abs(day)} day{'s' if abs(day) != 1 else ''}"
        return f"{count} before the {self.date_name}" if day < 0 else f"{count} {self.after}"


PAYMENT = DayRule(
    api="/api/v1/payment-reminder-rule",
    page="/settings/payment-reminders",
    title="Payment reminders",
    date_name="due date",
    after="overdue",
    subject="An unpaid invoice is reminded",
    hint="Separated by commas: \u22123 is three days before the due date, 0 the day itself, 7 a week overdue "
    "(from \u221260 to 90, at most six).",
    applies="Invoices issued from now on are reminded this way.",
)
MEMBERSHIP_EXPIRY = DayRule(
    api="/api/v1/membership-expiry-rule",
    page="/settings/membership-expiry",
    title="Membership expiry reminders",
    date_name="expiry date",
    after="after the expiry (while its tolerance lasts)",
    subject="A client is reminded that their membership ends",
    hint="Separated by commas: \u22127 is a week before the expiry date, 0 the day itself, 3 three days after it, sent "
    "only while the membership's tolerance days last (from \u221260 to 60, at most six).",
    applies="Each membership follows it from its next sale, renewal, freeze or resumption. While the business has "
    "its own rule, these messages replace the one expiring notice billing sends otherwise.",
)
RULES = (PAYMENT, MEMBERSHIP_EXPIRY)


def reminder_days(text: str) -> list[int]:
    """Days typed as a list ("-3, 0, 7"): before the date negative, after it positive; each once, in order."""
    days = set()
    for part in text.replace(";", ",").replace("\u2212", "-").split(","):
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


def rule_body(form: Any) -> dict[str, Any]:
    channels = [c for c in REMINDER_CHANNELS if form.get(f"channel-{c}") == "on"]
    if not channels:
        raise FormError("channels: choose at least one")
    return {
        "days": reminder_days(str(form.get("days", ""))),
        "channels": channels,
        "send_at": str(form.get("send_at", "")),
    }


def _pages(rule: DayRule) -> tuple[Any, Any, Any]:
    @signed_in("staff")
    async def rule_page(request: web.Request, api: UserApi) -> web.StreamResponse:
        current = await api.get(rule.api)
        return await console(
            request,
            api,
            "staff/settings/day_rule.html",
            kind=rule,
            rule=current,
            days_text=", ".join(str(d) for d in current["days"]),
            in_words=[rule.day_in_words(d) for d in current["days"]],
            channel_words=" and ".join(REMINDER_CHANNELS[c].lower() for c in current["channels"]),
            channels=REMINDER_CHANNELS,
        )

    @signed_in("staff")
    async def save_rule(request: web.Request, api: UserApi) -> web.StreamResponse:
        try:
            body = rule_body(await request.post())
        except FormError as error:
            await flash(request, f"Not saved: {error}.")
            return redirect(request, rule.page)
        return await apply(request, api, "PUT", rule.api, body, f"The {rule.title.lower()} are saved.", rule.page)

    @signed_in("staff")
    async def default_rule(request: web.Request, api: UserApi) -> web.StreamResponse:
        done = f"The {rule.title.lower()} are back to the default."
        return await apply(request, api, "DELETE", rule.api, None, done, rule.page)

    return rule_page, save_rule, default_rule


def register(router: web.UrlDispatcher) -> None:
    for rule in RULES:
        show, save, default = _pages(rule)
        router.add_get(rule.page, show)
        router.add_post(rule.page, save)
        router.add_post(f"{rule.page}/default", default)
