"""The staff console's clients and schedule tools: manage groups against a fake gateway (what each form sends),
the list's filters, the words staff read before confirming a booking or a cancellation, a waitlist entry's
body, and the client edit form with custom fields and assigned staff."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request
from multidict import MultiDict

from atrium_web import custom_fields
from atrium_web.app import create_app
from atrium_web.booking_terms import payment_in_words, terms_in_words
from atrium_web.config import WebSettings
from atrium_web.formatting import Formatter, negotiate_locale
from atrium_web.pages import template_environment
from atrium_web.views.staff import client_query
from atrium_web.views.staff_waitlist import join_body

from .test_sessions_and_security import FakeGateway, Web

FMT = Formatter(negotiate_locale("en-US"), "Europe/Berlin")
STAFF = [
    {"staff_id": "s2", "display_name": "Zoe", "active": True},
    {"staff_id": "s1", "display_name": "Ana", "active": True},
    {"staff_id": "s3", "display_name": "Old", "active": False},
]


@dataclass
class GroupsGateway(FakeGateway):
    """Client groups kept in memory, the business's custom fields, and every change the web unit sends."""

    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    members: dict[str, set[str]] = field(default_factory=dict)
    sent: list[tuple[str, str, Any]] = field(default_factory=list)

    def app(self) -> web.Application:
        app = super().app()

        def out(group_id: str) -> dict[str, Any]:
            return self.groups[group_id] | {"member_count": len(self.members[group_id])}

        async def list_groups(request: web.Request) -> web.Response:
            return web.json_response({"items": [out(g) for g in self.groups]})

        async def create(request: web.Request) -> web.Response:
            body = await request.json()
            self.sent.append(("POST", request.path, body))
            if not body["name"]:
                problem = {"status": 400, "errors": [{"field": "name", "message": "too short"}]}
                return web.json_response(problem, status=400, content_type="application/problem+json")
            group_id = f"g{len(self.groups) + 1}"
            self.groups[group_id] = {"id": group_id, "name": body["name"], "staff_ids": []}
            self.members[group_id] = set()
            return web.json_response(out(group_id), status=201)

        async def change(request: web.Request) -> web.Response:
            group_id = request.match_info["group_id"]
            body = await request.json() if request.can_read_body else None
            self.sent.append((request.method, request.path, body))
            if request.method == "DELETE":
                del self.groups[group_id]
                return web.Response(status=204)
            if request.method == "PATCH":
                self.groups[group_id]["name"] = body["name"]
            elif request.path.endswith("/members"):
                self.members[group_id] |= set(body["client_ids"])
            elif request.path.endswith("/members/remove"):
                self.members[group_id] -= set(body["client_ids"])
            elif request.path.endswith("/staff"):
                self.groups[group_id]["staff_ids"] = body["staff_ids"]
            return web.json_response(out(group_id))

        async def clients(request: web.Request) -> web.Response:
            people = {
                "c1": {"id": "c1", "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"},
                "c2": {"id": "c2", "first_name": "Alan", "last_name": "Turing", "email": None, "phone": "+1 555"},
            }
            group_id, q = request.query.get("group_id"), request.query.get("q", "").lower()
            if group_id:
                found = [people[c] for c in sorted(self.members[group_id])]
            else:
                found = [p for p in people.values() if q in (p["first_name"] + " " + p["last_name"]).lower()]
            return web.json_response({"items": found, "next_page_token": None})

        async def schedules(request: web.Request) -> web.Response:
            return web.json_response({"items": STAFF})

        async def custom_fields_list(request: web.Request) -> web.Response:
            form = request.query.get("form")
            return web.json_response({"items": [f for f in CUSTOM_FIELDS if not form or form in f["forms"]]})

        async def create_client(request: web.Request) -> web.Response:
            body = await request.json()
            self.sent.append(("POST", request.path, body))
            if body.get("custom_fields", {}).get("shoe_size", 0) > 60:
                problem = {"status": 422, "errors": [{"field": "custom_fields.shoe_size", "message": "at most 60"}]}
                return web.json_response(problem, status=422, content_type="application/problem+json")
            return web.json_response({"id": "c9"}, status=201)

        async def waitlist(request: web.Request) -> web.Response:
            self.sent.append(("GET", request.path_qs, None))
            return web.json_response({"items": [WAITLIST_ENTRY]})

        async def one_client(request: web.Request) -> web.Response:
            return web.json_response({"id": request.match_info["client_id"], "first_name": "Ada", "last_name": "L"})

        app.router.add_get("/api/v1/waitlist", waitlist)
        app.router.add_get("/api/v1/clients/{client_id}", one_client)
        app.router.add_get("/api/v1/custom-fields", custom_fields_list)
        app.router.add_post("/api/v1/clients", create_client)
        app.router.add_get("/api/v1/client-groups", list_groups)
        app.router.add_post("/api/v1/client-groups", create)
        app.router.add_route("*", "/api/v1/client-groups/{group_id}", change)
        app.router.add_post("/api/v1/client-groups/{group_id}/members", change)
        app.router.add_post("/api/v1/client-groups/{group_id}/members/remove", change)
        app.router.add_put("/api/v1/client-groups/{group_id}/staff", change)
        app.router.add_get("/api/v1/clients", clients)
        app.router.add_get("/api/v1/staff-schedules", schedules)
        return app


WAITLIST_ENTRY = {
    "id": "w1",
    "client_id": "c1",
    "service_id": "sv",
    "service_name": "Haircut",
    "duration_minutes": 60,
    "staff_id": None,
    "staff_name": "",
    "from_date": "2026-12-08",
    "to_date": "2026-12-20",
    "window_start": "09:00",
    "window_end": "12:30",
    "timezone": "Europe/Berlin",
    "status": "offered",
    "joined_by": "staff",
    "booking_rules_overridden": True,
    "created_at": "2026-12-07T10:00:00+00:00",
    "version": 2,
    "offers": [
        {
            "id": "o1",
            "staff_id": "s1",
            "start": "2026-12-09T09:00:00+00:00",
            "end": "2026-12-09T10:00:00+00:00",
            "local_start": "2026-12-09T10:00",
            "hold_until": "2026-12-07T12:00:00+00:00",
            "status": "open",
            "appointment_id": None,
        }
    ],
}
CUSTOM_FIELDS = [
    {"key": "shoe_size", "label": "Shoe size", "type": "number", "options": [], "required": False, "forms": ["staff"]},
    {"key": "hobby", "label": "Hobby", "type": "text", "options": [], "required": False, "forms": ["portal_profile"]},
]


@pytest.fixture
async def groups_site() -> AsyncIterator[Web]:
    fake = GroupsGateway()
    gateway = TestServer(fake.app())
    await gateway.start_server()
    settings = WebSettings(web_session_secret="s" * 40, web_gateway_url=str(gateway.make_url("")))
    async with TestClient(TestServer(create_app(settings))) as client:
        site = Web(client, fake)
        assert (await site.sign_in()).status == 303
        yield site
    await gateway.close()


async def post(site: Web, path: str, data: list[tuple[str, str]], page: str) -> str:
    token = await site.csrf(page)
    response = await site.client.post(path, data=MultiDict([("csrf_token", token), *data]))
    assert response.status == 200, await response.text()  # the redirect followed
    return await response.text()


async def test_manage_groups_creates_renames_fills_assigns_staff_and_deletes(groups_site: Web) -> None:
    site, fake = groups_site, groups_site.gateway
    assert isinstance(fake, GroupsGateway)
    page = await (await site.client.get("/clients/groups")).text()
    assert "No groups yet." in page

    # A nameless group is refused beside its field, and nothing is created.
    token = await site.csrf("/clients/groups")
    refused = await site.client.post("/clients/groups", data={"csrf_token": token, "name": "  "})
    assert refused.status == 400 and 'id="group-name-error"' in await refused.text()
    assert fake.groups == {}

    page = await post(site, "/clients/groups", [("name", "Regulars")], "/clients/groups")
    assert "The group Regulars is created." in page and "<h1>Group: Regulars</h1>" in page

    # Find clients and add the ones ticked.
    page = await (await site.client.get("/clients/groups/g1?q=a")).text()
    assert 'id="candidate-c1"' in page and 'id="candidate-c2"' in page
    page = await post(
        site, "/clients/groups/g1/members/add", [("client_id", "c1"), ("client_id", "c2")], "/clients/groups/g1"
    )
    assert "2 clients added to the group. It has 2 now." in page
    assert 'id="member-c1"' in page and 'id="member-c2"' in page
    page = await post(site, "/clients/groups/g1/members/remove", [("client_id", "c2")], "/clients/groups/g1")
    assert "1 client removed from the group. It has 1 now." in page and 'id="member-c2"' not in page

    # Assigned staff: active ones first, by name; the ticked ones are saved; none ticked clears them.
    assert page.index('id="staff-s1"') < page.index('id="staff-s2"') < page.index('id="staff-s3"')
    page = await post(site, "/clients/groups/g1/staff", [("staff_id", "s1")], "/clients/groups/g1")
    assert "assigned staff are saved" in page and re.search(r'id="staff-s1"[^>]*checked', page)
    listing = await (await site.client.get("/clients/groups")).text()
    assert "Ana" in listing and "Zoe" not in listing.split("<tbody>")[1]
    await post(site, "/clients/groups/g1/staff", [], "/clients/groups/g1")
    assert fake.groups["g1"]["staff_ids"] == []

    page = await post(site, "/clients/groups/g1/rename", [("name", "Weekly regulars")], "/clients/groups/g1")
    assert "renamed to Weekly regulars" in page
    page = await post(site, "/clients/groups/g1/delete", [], "/clients/groups/g1")
    assert "The group is deleted; its clients stay." in page and fake.groups == {}
    assert (await site.client.get("/clients/groups/g1")).status == 404

    sent = [(method, path) for method, path, _ in fake.sent]
    assert ("DELETE", "/api/v1/client-groups/g1") in sent and ("PATCH", "/api/v1/client-groups/g1") in sent


async def test_a_group_change_without_a_csrf_token_is_refused(groups_site: Web) -> None:
    await post(groups_site, "/clients/groups", [("name", "Regulars")], "/clients/groups")
    response = await groups_site.client.post("/clients/groups/g1/delete", data={})
    assert response.status == 403
    assert isinstance(groups_site.gateway, GroupsGateway) and "g1" in groups_site.gateway.groups


def test_the_deleted_filter_is_one_choice_sent_as_the_apis_two_flags() -> None:
    assert client_query(MultiDict(q="ada", deleted="with")) == {"q": "ada", "include_deleted": "true"}
    assert client_query(MultiDict(deleted="only", assigned_to="s1")) == {"assigned_to": "s1", "only_deleted": "true"}
    assert client_query(MultiDict(deleted="")) == {}
    # A next-page link carries the API's names, which read back the same.
    assert client_query(MultiDict(include_deleted="true")) == {"include_deleted": "true"}


CREDIT_TYPE = {"id": "ct", "name": "Massage 60", "unit": "session", "currency": None, "created_at": "2026-01-01"}
POLICY = {
    "service_id": None,
    "windows": [{"within_hours": 48, "within_days": None, "outcome": {"kind": "fee", "percent": 50, "fee": None}}],
    "no_show": {"kind": "forfeit", "percent": 100, "fee": None},
    "repeat_no_shows": None,
    "applies_to_staff_cancellations": True,
    "updated_at": "2026-12-01T10:00:00+00:00",
}


def cost(kind: str, fee: int | None = None, forfeit: int | None = None) -> dict[str, Any]:
    return {
        "outcome": {"kind": kind, "percent": 50, "fee": None},
        "fee": {"amount_minor": fee, "currency": "EUR"} if fee else None,
        "forfeit": {"credit_type_id": "ct", "units": forfeit} if forfeit else None,
    }


def test_before_booking_staff_read_which_credits_pay_and_until_when_cancelling_is_free() -> None:
    quote = {
        "uses_credits": True,
        "covered": True,
        "credit_type": CREDIT_TYPE,
        "units": 1,
        "lots": [{"lot_id": "l", "units": 1, "expires_at": "2027-01-31T23:00:00+00:00"}],
    }
    said = payment_in_words(FMT, quote)
    assert said == "Paid with the client's credits: 1 session of Massage 60 (the first of them expire Feb 1, 2027)."
    assert "do not cover it (2 sessions of Massage 60 needed)" in payment_in_words(
        FMT, quote | {"covered": False, "units": 2}
    )
    assert payment_in_words(FMT, quote | {"uses_credits": False}).startswith("Not paid with credits")

    terms = {
        "at": "2026-12-07T10:00:00+00:00",
        "free_until": "2026-12-14T08:00:00+00:00",
        "services": [
            {
                "service_id": "s",
                "policy": POLICY,
                "window": None,
                "cancel_now": cost("free"),
                "no_show": cost("forfeit", forfeit=1),
                "free_until": "2026-12-14T08:00:00+00:00",
            }
        ],
    }
    lines = terms_in_words(FMT, terms, {"ct": CREDIT_TYPE}, booking=True)
    assert lines == [
        # On the business's clock (Berlin): 08:00 UTC is 9:00.
        "Cancelling is free until Monday, December 14, 2026, 9:00\u202fAM; later: within 48 hours before, "
        "a fee of 50 % of the price.",
        "Not coming costs 1 session of Massage 60 kept.",
    ]
    assert terms_in_words(FMT, None, {}, booking=True) == [
        "No cancellation policy applies: cancelling and not coming are free."
    ]


def test_before_cancelling_staff_read_what_cancelling_now_costs() -> None:
    late = {
        "service_id": "s",
        "policy": POLICY,
        "window": POLICY["windows"][0],
        "cancel_now": cost("fee", fee=2250),
        "no_show": cost("fee"),  # the rule charges, but this client would pay nothing
        "free_until": None,
    }
    terms = {"at": "2026-12-07T10:00:00+00:00", "free_until": None, "services": [late]}
    assert terms_in_words(FMT, terms, {}, booking=False) == [
        "Cancelling now costs a fee of €22.50.",
        "Not coming costs nothing for this client.",
    ]
    free = late | {"window": None, "cancel_now": cost("free")}
    assert terms_in_words(FMT, terms | {"services": [free]}, {}, booking=False)[0] == "Cancelling is free."


def test_a_waitlist_entry_is_made_on_the_business_clock_and_refused_without_its_days() -> None:
    form = MultiDict(
        client_id="c1",
        service_id="sv",
        staff_id="",
        from_date="2026-12-08",
        to_date="2026-12-20",
        window_start="09:00",
        window_end="12:30",
        override_booking_rules="on",
    )
    body, errors = join_body(form, "Europe/Berlin")
    assert errors == {}
    assert body == {
        "client_id": "c1",
        "service_id": "sv",
        "staff_id": None,
        "from_date": "2026-12-08",
        "to_date": "2026-12-20",
        "window_start": "09:00",
        "window_end": "12:30",
        "timezone": "Europe/Berlin",
        "override_booking_rules": True,
    }
    _, errors = join_body(MultiDict(client_id="c1", window_start="09:00"), "UTC")
    assert set(errors) == {"service_id", "from_date", "to_date", "window_start"}


def test_the_edit_form_shows_custom_fields_and_the_staff_to_assign() -> None:
    fields = [
        {"key": "allergy", "label": "Allergies", "type": "long_text", "options": [], "required": False},
        {"key": "source", "label": "Found us", "type": "single_choice", "options": ["Web", "Friend"], "required": True},
        {"key": "visits", "label": "Visits", "type": "number", "options": [], "required": False},
    ]
    client = {
        "id": "c1",
        "first_name": "Ines",
        "last_name": "Moreau",
        "custom_fields": {"allergy": "Lavender", "source": "Friend"},
        "assigned_staff_ids": ["s1"],
        "group_staff_ids": ["s2"],
    }
    html = (
        template_environment()
        .get_template("staff/client_edit.html")
        .render(
            request=make_mocked_request("GET", "/clients/c1/edit"),
            account=None,
            csrf_token="t",
            fmt=FMT,
            messages=[],
            static=lambda name: f"/static/{name}",
            pending=None,
            client=client,
            statuses=[],
            values={},
            errors={"custom.visits": "Enter a number."},
            fields=fields,
            custom={f["key"]: custom_fields.shown(f, client["custom_fields"].get(f["key"])) for f in fields},
            staff=STAFF,
            assigned=client["assigned_staff_ids"],
            input_name=custom_fields.input_name,
            input_types=custom_fields.INPUT_TYPES,
        )
    )
    assert '<textarea id="custom.allergy" name="custom.allergy" rows="3" >Lavender</textarea>' in html
    assert "<option selected>Friend</option>" in html
    assert 'aria-invalid="true" aria-describedby="custom.visits-error"' in html and "Enter a number." in html
    assert re.search(r'id="staff-s1"[^>]*checked', html) and not re.search(r'id="staff-s2"[^>]*checked', html)
    assert "Staff assigned through the client's groups stay assigned" in html


def ok(data: Any) -> dict[str, Any]:
    return {"status": "ok", "data": data}


CARD_CLIENT = {
    "id": "c1",
    "first_name": "Ines",
    "last_name": "Moreau",
    "email": "ines@example.com",
    "phone": None,
    "status_label": "Active",
    "online_booking_blocked": True,
    "online_booking_blocked_until": "2026-12-21T09:00:00+00:00",
    "deleted_at": None,
    "emails": [
        {"value": "ines@example.com", "label": "home", "primary": True},
        {"value": "ines@work.example", "label": "work", "primary": False},
    ],
    "phones": [],
    "contact_persons": [{"name": "Paul Moreau", "role": "parent", "email": None, "phone": "+33 1 23 45 67 89"}],
    "tags": [],
    "created_at": "2026-01-05T10:00:00+00:00",
    "custom_fields": {"allergy": "Lavender", "visits": 12, "newsletter": False, "unset": None},
    "profile": {
        "company_name": "",
        "address": {"line1": "", "postal_code": "", "city": ""},
        "date_of_birth": "1990-04-02",
    },
}
CARD = {
    "client_id": "c1",
    "information": ok(CARD_CLIENT),
    "assigned_staff": ok([]),
    "latest_note": ok(None),
    "timeline": ok(
        {
            "items": [
                {
                    "id": "e1",
                    "kind": "message",
                    "summary": "Appointment confirmation sent",
                    "occurred_at": "2026-12-07T09:00:00+00:00",
                    "message": {
                        "channel": "email",
                        "to_address": "ines@example.com",
                        "subject": "Your appointment is confirmed",
                        "status": "delivered",
                    },
                }
            ],
            "next_page_token": "older-1",
        }
    ),
    "highlights": {"next_appointment": ok(None), "pending_payment": ok([]), "open_request": ok({"open_count": 0})},
}
CARD_FIELDS = [
    {"key": "allergy", "label": "Allergies", "type": "text"},
    {"key": "visits", "label": "Visits so far", "type": "number"},
    {"key": "newsletter", "label": "Newsletter", "type": "checkbox"},
    {"key": "unset", "label": "Never filled", "type": "text"},
]


def render_card(path: str, opened: dict[str, Any], card: dict[str, Any] = CARD) -> str:
    return (
        template_environment()
        .get_template("staff/card.html")
        .render(
            request=make_mocked_request("GET", path),
            account=None,
            csrf_token="t",
            fmt=FMT,
            messages=[],
            static=lambda name: f"/static/{name}",
            pending="0",
            card=card,
            client=card["information"],
            portal={"status": "unavailable", "data": None},
            portal_permissions={},
            tabs={"conversation": "Conversation"},
            tab="conversation",
            opened=opened,
            fields=CARD_FIELDS,
        )
    )


def test_the_card_shows_custom_fields_with_a_value_and_the_conversations_messages_page_by_page() -> None:
    html = render_card("/clients/c1", ok(None))
    assert "<dt>Allergies</dt><dd>Lavender</dd>" in html and "<dt>Visits so far</dt><dd>12</dd>" in html
    assert "<dt>Newsletter</dt><dd>No</dd>" in html and "Never filled" not in html
    assert "Email to ines@example.com: “Your appointment is confirmed” · delivered" in html
    assert "/clients/c1?tab=conversation&amp;page_token=older-1#pane-activity" in html
    # The contact pane: every address and phone, contact persons, and a block with its end (from no-shows).
    assert '<a href="mailto:ines@work.example">ines@work.example</a>' in html and "(work)" in html
    assert 'Paul Moreau, <a href="tel:+33 1 23 45 67 89">' in html and "Apr 2, 1990" in html
    assert "Blocked until <time" in html and "Monday, December 21, 2026, 10:00" in html
    assert 'action="/clients/c1/unblock"' in html and "Unblock online booking" in html
    # An older page is the tab's own call; while it does not answer, the page says so (not the newest page).
    older = render_card("/clients/c1?page_token=older-1", ok({"items": [], "next_page_token": None}))
    assert "Nothing yet." in older and "Your appointment is confirmed" not in older and "Older activity" not in older
    down = render_card("/clients/c1?page_token=older-1", {"status": "unavailable", "data": None})
    assert "The conversation is unavailable right now." in down


def test_the_card_says_while_the_clients_requests_need_approval_after_repeated_no_shows() -> None:
    assert "Requests need approval" not in render_card("/clients/c1", ok(None))
    held = {"open_count": 0, "oldest": None, "approval_required_until": "2026-12-21T09:00:00Z"}
    card = CARD | {"highlights": CARD["highlights"] | {"open_request": ok(held)}}
    html = render_card("/clients/c1", ok(None), card)
    assert "Requests need approval</span> until <time" in html and "Monday, December 21, 2026, 10:00" in html


async def test_a_new_client_gets_the_custom_fields_collected_on_the_staff_form(groups_site: Web) -> None:
    site, fake = groups_site, groups_site.gateway
    assert isinstance(fake, GroupsGateway)
    page = await (await site.client.get("/clients/new")).text()
    assert 'name="custom.shoe_size" type="number"' in page and "Hobby" not in page  # the portal's own field

    async def add(shoe_size: str) -> tuple[int, str]:
        token = await site.csrf("/clients/new")
        data = {"csrf_token": token, "first_name": "Mia", "custom.shoe_size": shoe_size}
        response = await site.client.post("/clients/new", data=data, allow_redirects=False)
        return response.status, await response.text()

    # Not a number: refused beside the field, as typed, and nothing is sent.
    status, page = await add("forty")
    assert status == 400 and 'value="forty"' in page and "Enter a number." in page and fake.sent == []
    # The API's refusal of a value is named beside its field too.
    status, page = await add("61")
    assert status == 400 and 'id="custom.shoe_size-error">at most 60' in page
    status, _ = await add("38")
    assert status == 303
    assert fake.sent[-1] == ("POST", "/api/v1/clients", {"first_name": "Mia", "custom_fields": {"shoe_size": 38}})


async def test_the_waitlist_of_one_client_shows_its_offer_and_keeps_the_client_when_filtered(groups_site: Web) -> None:
    site, fake = groups_site, groups_site.gateway
    assert isinstance(fake, GroupsGateway)
    page = await (await site.client.get("/waitlist?status=&client_id=c1")).text()
    assert fake.sent[-1] == ("GET", "/api/v1/waitlist?client_id=c1", None)  # every status: none sent
    assert 'Entries of <a href="/clients/c1">Ada L</a>' in page
    assert '<input type="hidden" name="client_id" value="c1">' in page
    assert "Offered a time" in page and "booking rules overridden" in page
    # The offer on the business's clock (Berlin): 09:00 UTC is 10:00; the window as the locale writes it.
    assert "Offered <time" in page and "December 9, 2026, 10:00\u202fAM" in page
    assert "9:00\u202fAM\u201312:30\u202fPM" in page and "Take off the list" in page
