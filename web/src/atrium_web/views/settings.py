"""Settings of the business, each a page over the gateway's API: services (add, change, archive), staff hours and
exceptions, resources (add, change, archive), booking rules (slot rules, cancellation notice), the public booking
page (open or close it, its address), portal permissions, client statuses and custom fields, and the staff
members (invite, change role, deactivate, reactivate).

What a role may not change answers the gateway's 403 (the forbidden page); a refused value comes back as a
message naming the field, and nothing is changed.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from aiohttp import web
from babel.numbers import NumberFormatError, get_territory_currencies, parse_decimal

from atrium_web.formatting import Formatter, negotiate_locale
from atrium_web.gateway_api import ApiProblem
from atrium_web.pages import flash, formatter, redirect, signed_in
from atrium_web.sessions import UserApi
from atrium_web.views.staff import PORTAL_PERMISSIONS, console
from platform_core.money import is_currency, minor_unit_exponent

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
FIELD_TYPES = {
    "text": "Text",
    "long_text": "Long text",
    "number": "Number",
    "date": "Date",
    "single_choice": "One of a list",
    "multiple_choice": "Several of a list",
    "checkbox": "Yes / no",
    "email": "Email",
    "phone": "Phone",
    "url": "Web address",
}
FIELD_FORMS = {"staff": "Staff", "portal_profile": "Client portal profile", "booking_request": "Booking requests"}
SECTIONS = {
    "services": "Services",
    "hours": "Staff hours and exceptions",
    "resources": "Resources",
    "booking-rules": "Booking rules",
    "cancellation-policy": "Cancellation and no-show policy",
    "requests": "Appointment requests (tentative holds, hold times, ticket links)",
    "public-booking": "Public booking page (open or close it, its address)",
    "portal": "Portal permissions",
    "client-fields": "Client statuses and custom fields",
    "staff": "Staff members",
    "reminders": "Reminders",
    "payment-reminders": "Payment reminders",
    "membership-expiry": "Membership expiry reminders",
    "messages": "Message wording",
}
REMINDER_AUDIENCES = {"client": "The client", "staff": "The staff member"}
REMINDER_CHANNELS = {"email": "Email", "sms": "Text message", "in_app": "In the portal"}


class FormError(Exception):
    """A form value that cannot be sent as it is (named for the message)."""


async def apply(
    request: web.Request, api: UserApi, method: str, path: str, body: Any, done: str, back: str, *, key: str = ""
) -> web.StreamResponse:
    """Send one change; say it is done, or say why not (the fields the gateway named), then back to the page.
    ``key``, made when the form was shown, is the Idempotency-Key: the form sent twice changes things once."""
    try:
        await api.send(method, path, body, headers={"Idempotency-Key": key} if key else {})
        await flash(request, done)
    except ApiProblem as problem:
        if problem.status in (403, 404):
            raise
        named = "; ".join(f"{f.replace('_', ' ')}: {m}" if f else m for f, m in problem.errors.items())
        await flash(request, f"Not saved: {named or problem.detail or 'the values were refused'}.")
    return redirect(request, back)


def minor_units(text: str, currency: str, request: web.Request) -> int:
    """An amount typed in the viewer's locale ("45", "45.50", "1,234.5") in the currency's minor units."""
    try:
        amount = parse_decimal(text.strip(), locale=negotiate_locale(request.headers.get("Accept-Language", "")))
    except NumberFormatError:
        raise FormError(f"price: {text!r} is not an amount") from None
    if amount < 0:
        raise FormError("price: cannot be negative")
    scaled = amount.scaleb(minor_unit_exponent(currency))
    if scaled != scaled.to_integral_value():
        raise FormError(f"price: {currency} has {minor_unit_exponent(currency)} decimal places")
    return int(scaled)


def amount_text(fmt: Formatter, money: dict[str, Any] | None) -> str:
    """An amount as a form shows it for editing: in the viewer's locale, no currency sign."""
    if not money:
        return ""
    return fmt.number(Decimal(money["amount_minor"]).scaleb(-minor_unit_exponent(money["currency"])))


def whole(form: Any, name: str, default: int = 0) -> int:
    value = str(form.get(name, "")).strip()
    if not value:
        return default
    if not value.isdigit():
        raise FormError(f"{name.replace('_', ' ')}: give a whole number")
    return int(value)


@signed_in("staff")
async def index(request: web.Request, api: UserApi) -> web.StreamResponse:
    return await console(request, api, "staff/settings/index.html", sections=SECTIONS)


# --- services --------------------------------------------------------------------------------------


@signed_in("staff")
async def services(request: web.Request, api: UserApi) -> web.StreamResponse:
    listed, staff, business = await asyncio.gather(
        api.get("/api/v1/services"), api.get("/api/v1/staff-schedules"), api.get("/api/v1/business")
    )
    currencies = get_territory_currencies(business["country"]) or ["EUR"]
    return await console(
        request,
        api,
        "staff/settings/services.html",
        services=listed["items"],
        staff=[s for s in staff["items"] if s["active"]],
        currency=currencies[0],
    )


def service_body(form: Any, request: web.Request) -> dict[str, Any]:
    """A service's definition from its form (add or edit); FormError names what cannot be sent."""
    currency = str(form.get("currency", "")).strip().upper()
    if not is_currency(currency):
        raise FormError("currency: give an ISO 4217 code such as EUR")
    return {
        "name": str(form.get("name", "")).strip(),
        "description": str(form.get("description", "")).strip(),
        "duration_minutes": whole(form, "duration_minutes"),
        "buffer_before_minutes": whole(form, "buffer_before_minutes"),
        "buffer_after_minutes": whole(form, "buffer_after_minutes"),
        "capacity": whole(form, "capacity", 1),
        "price": {"amount_minor": minor_units(str(form.get("price", "0")), currency, request), "currency": currency},
        "staff_ids": [str(v) for v in form.getall("staff_ids", [])],
        "resource_ids": [str(v) for v in form.getall("resource_ids", [])],
        "bookable_online": form.get("bookable_online") == "on",
    }


@signed_in("staff")
async def add_service(request: web.Request, api: UserApi) -> web.StreamResponse:
    back = "/settings/services"
    try:
        body = service_body(await request.post(), request)
    except FormError as error:
        await flash(request, f"Not saved: {error}.")
        return redirect(request, back)
    return await apply(request, api, "POST", "/api/v1/services", body, f"{body['name']} is added.", back)


@signed_in("staff")
async def service_page(request: web.Request, api: UserApi) -> web.StreamResponse:
    """One service to change: everything the API keeps of it, who performs it and the resources it needs."""
    service_id = request.match_info["service_id"]
    service, staff, resources, types, rules = await asyncio.gather(
        api.get(f"/api/v1/services/{service_id}"),
        api.get("/api/v1/staff-schedules"),
        api.get("/api/v1/resources"),
        api.get("/api/v1/credit-types"),
        api.get(f"/api/v1/services/{service_id}/credit-rules"),
    )
    return await console(
        request,
        api,
        "staff/settings/service.html",
        service=service,
        price_text=amount_text(formatter(request, api.account), service["price"]),
        staff=[s for s in staff["items"] if s["active"] or s["staff_id"] in service["staff_ids"]],
        resources=[r for r in resources["items"] if not r["archived"] or r["id"] in service["resource_ids"]],
        credit_types=types["items"],
        units={r["credit_type_id"]: r["units"] for r in rules["rules"]},
    )


@signed_in("staff")
async def save_service(request: web.Request, api: UserApi) -> web.StreamResponse:
    """The form's fields replace the definition; what the form does not show (category, colour, the service's
    own slot rules) is sent back as read, with the version read, so a change made meanwhile is refused."""
    service_id = request.match_info["service_id"]
    path, back = f"/api/v1/services/{service_id}", f"/settings/services/{service_id}"
    form = await request.post()
    current = await api.get(path)
    try:
        body = {k: current[k] for k in ("category", "colour", "slot_rules")} | service_body(form, request)
        body["version"] = whole(form, "version", current["version"])
    except FormError as error:
        await flash(request, f"Not saved: {error}.")
        return redirect(request, back)
    return await apply(request, api, "PUT", path, body, f"{body['name']} is saved.", back)


@signed_in("staff")
async def archive_service(request: web.Request, api: UserApi) -> web.StreamResponse:
    path = f"/api/v1/services/{request.match_info['service_id']}/archive"
    return await apply(request, api, "POST", path, {}, "The service is archived.", "/settings/services")


@signed_in("staff")
async def save_credit_rules(request: web.Request, api: UserApi) -> web.StreamResponse:
    """Which credit types pay for one visit of the service and how many units: a type left empty does not."""
    service_id = request.match_info["service_id"]
    form = await request.post()
    back = f"/settings/services/{service_id}"
    try:
        rules = [
            {"credit_type_id": str(name).removeprefix("units-"), "units": whole(form, str(name))}
            for name in form
            if str(name).startswith("units-") and str(form.get(name, "")).strip() not in ("", "0")
        ]
    except FormError as error:
        await flash(request, f"Not saved: {error}.")
        return redirect(request, back)
    path = f"/api/v1/services/{service_id}/credit-rules"
    return await apply(request, api, "PUT", path, {"rules": rules}, "What pays for a visit is saved.", back)


# --- staff hours and exceptions -------------------------------------------------------------------


@signed_in("staff")
async def hours(request: web.Request, api: UserApi) -> web.StreamResponse:
    schedules, exceptions = await asyncio.gather(
        api.get("/api/v1/staff-schedules"), api.get("/api/v1/schedule-exceptions")
    )
    names = {s["staff_id"]: s["display_name"] for s in schedules["items"]}
    for schedule in schedules["items"]:
        by_day = {d["weekday"]: d["ranges"] for d in schedule["weekly_hours"]}
        schedule["days"] = [(n, WEEKDAYS[n], (by_day.get(n) or [None])[0]) for n in range(7)]
    return await console(
        request,
        api,
        "staff/settings/hours.html",
        schedules=schedules["items"],
        exceptions=sorted(exceptions["items"], key=lambda e: e["day"]),
        names=names,
    )


@signed_in("staff")
async def save_hours(request: web.Request, api: UserApi) -> web.StreamResponse:
    """One range a day from the form (a day left empty is a day off); the version guards a change made meanwhile."""
    staff_id = request.match_info["staff_id"]
    form = await request.post()
    current = await api.get(f"/api/v1/staff-schedules/{staff_id}")
    weekly = []
    for day in range(7):
        start, end = str(form.get(f"start-{day}", "")).strip(), str(form.get(f"end-{day}", "")).strip()
        if start or end:
            weekly.append({"weekday": day, "ranges": [{"start": start[:5], "end": end[:5]}]})
    body = {
        "display_name": str(form.get("display_name", current["display_name"])).strip(),
        "timezone": current["timezone"],
        "weekly_hours": weekly,
        "active": current["active"],
        "version": int(str(form.get("version", current["version"]))),
    }
    done = f"{body['display_name'] or 'The'} hours are saved."
    return await apply(request, api, "PUT", f"/api/v1/staff-schedules/{staff_id}", body, done, "/settings/hours")


@signed_in("staff")
async def add_exception(request: web.Request, api: UserApi) -> web.StreamResponse:
    form = await request.post()
    available = form.get("kind") == "extra"
    start, end = str(form.get("start", "")).strip()[:5], str(form.get("end", "")).strip()[:5]
    body: dict[str, Any] = {
        "staff_id": str(form.get("staff_id", "")) or None,
        "day": str(form.get("day", "")),
        "available": available,
        "ranges": [{"start": start, "end": end}] if start or end else [],
        "label": str(form.get("label", "")).strip()[:100],
    }
    done = "The exception is added."
    return await apply(request, api, "POST", "/api/v1/schedule-exceptions", body, done, "/settings/hours")


@signed_in("staff")
async def delete_exception(request: web.Request, api: UserApi) -> web.StreamResponse:
    path = f"/api/v1/schedule-exceptions/{request.match_info['exception_id']}"
    return await apply(request, api, "DELETE", path, None, "The exception is removed.", "/settings/hours")


# --- resources -------------------------------------------------------------------------------------


@signed_in("staff")
async def resources(request: web.Request, api: UserApi) -> web.StreamResponse:
    listed = await api.get("/api/v1/resources")
    return await console(request, api, "staff/settings/resources.html", resources=listed["items"])


def resource_body(form: Any) -> dict[str, Any]:
    return {
        "name": str(form.get("name", "")).strip(),
        "kind": "equipment" if form.get("kind") == "equipment" else "room",
        "capacity": whole(form, "capacity", 1),
    }


@signed_in("staff")
async def add_resource(request: web.Request, api: UserApi) -> web.StreamResponse:
    try:
        body = resource_body(await request.post())
    except FormError as error:
        await flash(request, f"Not saved: {error}.")
        return redirect(request, "/settings/resources")
    return await apply(
        request, api, "POST", "/api/v1/resources", body, f"{body['name']} is added.", "/settings/resources"
    )


@signed_in("staff")
async def save_resource(request: web.Request, api: UserApi) -> web.StreamResponse:
    """A resource's name, kind and capacity changed; archived or not stays as it is."""
    resource_id = request.match_info["resource_id"]
    listed = {r["id"]: r for r in (await api.get("/api/v1/resources"))["items"]}
    if resource_id not in listed:
        raise web.HTTPNotFound()
    try:
        body = resource_body(await request.post()) | {"archived": listed[resource_id]["archived"]}
    except FormError as error:
        await flash(request, f"Not saved: {error}.")
        return redirect(request, "/settings/resources")
    path = f"/api/v1/resources/{resource_id}"
    return await apply(request, api, "PUT", path, body, f"{body['name']} is saved.", "/settings/resources")


@signed_in("staff")
async def archive_resource(request: web.Request, api: UserApi) -> web.StreamResponse:
    resource_id = request.match_info["resource_id"]
    listed = {r["id"]: r for r in (await api.get("/api/v1/resources"))["items"]}
    if resource_id not in listed:
        raise web.HTTPNotFound()
    current = listed[resource_id]
    archived = (await request.post()).get("archived") == "true"
    body = {"name": current["name"], "kind": current["kind"], "capacity": current["capacity"], "archived": archived}
    done = f"{current['name']} is archived." if archived else f"{current['name']} is back in use."
    return await apply(request, api, "PUT", f"/api/v1/resources/{resource_id}", body, done, "/settings/resources")


# --- booking rules ---------------------------------------------------------------------------------

RULE_FIELDS = ("granularity_minutes", "min_notice_minutes", "horizon_days")


@signed_in("staff")
async def booking_rules(request: web.Request, api: UserApi) -> web.StreamResponse:
    current = await api.get("/api/v1/scheduling/settings")
    return await console(request, api, "staff/settings/booking_rules.html", current=current)


@signed_in("staff")
async def save_booking_rules(request: web.Request, api: UserApi) -> web.StreamResponse:
    """The rules changed, everything else of the settings sent back as read (the API replaces them whole)."""
    form = await request.post()
    current = await api.get("/api/v1/scheduling/settings")
    kept = ("timezone", "business_hours", "max_active_bookings_per_client", "follow_up_actions")
    try:
        body = {k: current[k] for k in kept} | {
            "slot_rules": {name: whole(form, name) for name in RULE_FIELDS},
            "cancellation_notice_minutes": whole(form, "cancellation_notice_hours") * 60,
            "version": current["version"],
        }
    except FormError as error:
        await flash(request, f"Not saved: {error}.")
        return redirect(request, "/settings/booking-rules")
    path, back = "/api/v1/scheduling/settings", "/settings/booking-rules"
    return await apply(request, api, "PUT", path, body, "The booking rules are saved.", back)


# --- public booking page -----------------------------------------------------------------------

PUBLIC_BOOKING = "/api/v1/business/public-booking"


@signed_in("staff")
async def public_booking(request: web.Request, api: UserApi) -> web.StreamResponse:
    return await console(request, api, "staff/settings/public_booking.html", current=await api.get(PUBLIC_BOOKING))


@signed_in("staff")
async def save_public_booking(request: web.Request, api: UserApi) -> web.StreamResponse:
    """Open or close the page at the address chosen (lower-case letters, digits and hyphens; the API checks)."""
    form = await request.post()
    body = {"enabled": form.get("enabled") == "on", "slug": str(form.get("slug", "")).strip().lower()}
    done = f"The booking page is {'open' if body['enabled'] else 'closed'}."
    return await apply(request, api, "PUT", PUBLIC_BOOKING, body, done, "/settings/public-booking")


# --- portal permissions ----------------------------------------------------------------------------


@signed_in("staff")
async def portal(request: web.Request, api: UserApi) -> web.StreamResponse:
    defaults = await api.get("/api/v1/portal-settings")
    return await console(request, api, "staff/settings/portal.html", defaults=defaults, permissions=PORTAL_PERMISSIONS)


@signed_in("staff")
async def save_portal(request: web.Request, api: UserApi) -> web.StreamResponse:
    form = await request.post()
    body = {name: form.get(name) == "on" for name in PORTAL_PERMISSIONS}
    done = "The portal permissions are saved."
    return await apply(request, api, "PUT", "/api/v1/portal-settings", body, done, "/settings/portal")


# --- client statuses and custom fields ------------------------------------------------------------


@signed_in("staff")
async def client_fields(request: web.Request, api: UserApi) -> web.StreamResponse:
    statuses, fields = await asyncio.gather(
        api.get("/api/v1/client-statuses"), api.get("/api/v1/custom-fields", include_retired="true")
    )
    return await console(
        request,
        api,
        "staff/settings/client_fields.html",
        statuses=statuses["items"],
        fields=fields["items"],
        field_types=FIELD_TYPES,
        field_forms=FIELD_FORMS,
    )


@signed_in("staff")
async def add_status(request: web.Request, api: UserApi) -> web.StreamResponse:
    label = str((await request.post()).get("label", "")).strip()
    back = "/settings/client-fields"
    return await apply(request, api, "POST", "/api/v1/client-statuses", {"label": label}, f"{label} is added.", back)


@signed_in("staff")
async def default_status(request: web.Request, api: UserApi) -> web.StreamResponse:
    path = f"/api/v1/client-statuses/{request.match_info['status_id']}"
    done, back = "New clients now get this status.", "/settings/client-fields"
    return await apply(request, api, "PATCH", path, {"make_default": True}, done, back)


@signed_in("staff")
async def add_field(request: web.Request, api: UserApi) -> web.StreamResponse:
    form = await request.post()
    options = [o.strip() for o in str(form.get("options", "")).split(",") if o.strip()]
    kind = str(form.get("type", "text"))
    body = {
        "label": str(form.get("label", "")).strip(),
        "type": kind,
        "options": options if kind in ("single_choice", "multiple_choice") else [],
        "required": form.get("required") == "on",
        "forms": [str(v) for v in form.getall("forms", [])] or ["staff"],
    }
    back = "/settings/client-fields"
    return await apply(request, api, "POST", "/api/v1/custom-fields", body, f"{body['label']} is added.", back)


@signed_in("staff")
async def retire_field(request: web.Request, api: UserApi) -> web.StreamResponse:
    retired = (await request.post()).get("retired") == "true"
    path = f"/api/v1/custom-fields/{request.match_info['field_id']}"
    done = "The field is retired (its values stay readable)." if retired else "The field is back in use."
    return await apply(request, api, "PATCH", path, {"retired": retired}, done, "/settings/client-fields")


# --- staff members ---------------------------------------------------------------------------------


@signed_in("staff")
async def staff_members(request: web.Request, api: UserApi) -> web.StreamResponse:
    members, roles = await asyncio.gather(api.get("/api/v1/staff"), api.get("/api/v1/roles"))
    return await console(
        request, api, "staff/settings/staff.html", members=members["items"], roles=[r["name"] for r in roles["items"]]
    )


@signed_in("staff")
async def invite_staff(request: web.Request, api: UserApi) -> web.StreamResponse:
    form = await request.post()
    body = {k: str(form.get(k, "")).strip() for k in ("email", "name", "role")}
    done = f"An invitation is sent to {body['email']}."
    return await apply(request, api, "POST", "/api/v1/staff/invitations", body, done, "/settings/staff")


@signed_in("staff")
async def change_staff(request: web.Request, api: UserApi) -> web.StreamResponse:
    """Change the role, deactivate or reactivate: the form's action names which."""
    staff_id, action = request.match_info["staff_id"], request.match_info["action"]
    path, back = f"/api/v1/staff/{staff_id}", "/settings/staff"
    if action == "role":
        role = str((await request.post()).get("role", ""))
        return await apply(request, api, "PATCH", path, {"role": role}, f"The role is now {role}.", back)
    if action in ("deactivate", "reactivate"):
        return await apply(request, api, "POST", f"{path}/{action}", {}, f"The staff member is {action}d.", back)
    raise web.HTTPNotFound()


# --- reminder rules --------------------------------------------------------------------------------

RULES = "/api/v1/reminder-rules"


@signed_in("staff")
async def reminders(request: web.Request, api: UserApi) -> web.StreamResponse:
    """The business's rule (or the default it follows), and the services that have their own."""
    rules, services = await asyncio.gather(api.get(RULES), api.get("/api/v1/services"))
    business = next(r for r in rules["items"] if r["service_id"] is None)
    names = {s["id"]: s["name"] for s in services["items"]}
    own = [
        r | {"service_name": names.get(r["service_id"], "A removed service")} for r in rules["items"] if r["service_id"]
    ]
    return await console(
        request,
        api,
        "staff/settings/reminders.html",
        rule=business,
        own=own,
        services=[s for s in services["items"] if not s["archived"]],
        audiences=REMINDER_AUDIENCES,
        channels=REMINDER_CHANNELS,
    )


def reminder_body(form: Any) -> dict[str, Any]:
    start, end = str(form.get("quiet_start", "")).strip()[:5], str(form.get("quiet_end", "")).strip()[:5]
    return {
        "offsets": [o.strip() for o in str(form.get("offsets", "")).split(",") if o.strip()],
        "audiences": [str(v) for v in form.getall("audiences", [])],
        "channels": [str(v) for v in form.getall("channels", [])],
        "quiet_hours": {"start": start, "end": end} if start or end else None,
    }


@signed_in("staff")
async def save_reminders(request: web.Request, api: UserApi) -> web.StreamResponse:
    form = await request.post()
    back = "/settings/reminders"
    if form.get("reset") == "default":
        return await apply(request, api, "DELETE", f"{RULES}/business", None, "The default reminders apply.", back)
    return await apply(request, api, "PUT", f"{RULES}/business", reminder_body(form), "The reminders are saved.", back)


@signed_in("staff")
async def save_service_reminders(request: web.Request, api: UserApi) -> web.StreamResponse:
    """A service's own rule, or (reset) the service back on the business's."""
    form = await request.post()
    service_id, back = str(form.get("service_id", "")), "/settings/reminders"
    if not service_id:
        await flash(request, "Not saved: service: choose one.")
        return redirect(request, back)
    path = f"{RULES}/services/{service_id}"
    if form.get("reset") == "business":
        return await apply(request, api, "DELETE", path, None, "The service follows the business's reminders.", back)
    return await apply(request, api, "PUT", path, reminder_body(form), "The service's reminders are saved.", back)


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/settings", index)
    router.add_get("/settings/services", services)
    router.add_post("/settings/services", add_service)
    router.add_get("/settings/services/{service_id}", service_page)
    router.add_post("/settings/services/{service_id}", save_service)
    router.add_post("/settings/services/{service_id}/archive", archive_service)
    router.add_post("/settings/services/{service_id}/credit-rules", save_credit_rules)
    router.add_get("/settings/hours", hours)
    router.add_post("/settings/hours/{staff_id}", save_hours)
    router.add_post("/settings/exceptions", add_exception)
    router.add_post("/settings/exceptions/{exception_id}/delete", delete_exception)
    router.add_get("/settings/resources", resources)
    router.add_post("/settings/resources", add_resource)
    router.add_post("/settings/resources/{resource_id}", save_resource)
    router.add_post("/settings/resources/{resource_id}/archive", archive_resource)
    router.add_get("/settings/booking-rules", booking_rules)
    router.add_post("/settings/booking-rules", save_booking_rules)
    router.add_get("/settings/public-booking", public_booking)
    router.add_post("/settings/public-booking", save_public_booking)
    router.add_get("/settings/portal", portal)
    router.add_post("/settings/portal", save_portal)
    router.add_get("/settings/client-fields", client_fields)
    router.add_post("/settings/client-statuses", add_status)
    router.add_post("/settings/client-statuses/{status_id}/default", default_status)
    router.add_post("/settings/custom-fields", add_field)
    router.add_post("/settings/custom-fields/{field_id}/retire", retire_field)
    router.add_get("/settings/staff", staff_members)
    router.add_post("/settings/staff", invite_staff)
    router.add_post("/settings/staff/{staff_id}/{action}", change_staff)
    router.add_get("/settings/reminders", reminders)
    router.add_post("/settings/reminders", save_reminders)
    router.add_post("/settings/reminders/services", save_service_reminders)
