"""The portal pages' own rules: a request's history in the client's words, the waitlist form's checks, credits
in their units, the preference switches, file sizes by locale, and a new request's booking form questions."""

from __future__ import annotations

from datetime import date, timedelta

from aiohttp.test_utils import make_mocked_request
from multidict import MultiDict

from atrium_web.appointment_requests import OPEN_STATUSES, STATUS_LABELS
from atrium_web.custom_fields import INPUT_TYPES, answers, changes, displayed, input_name
from atrium_web.formatting import Formatter, negotiate_locale
from atrium_web.pages import template_environment
from atrium_web.views.portal_account import preference_rows
from atrium_web.views.portal_membership import amount, holdings
from atrium_web.views.portal_request_detail import history
from atrium_web.views.portal_waitlist import join_checks

EN = Formatter(negotiate_locale("en-US"), "Europe/London")
DE = Formatter(negotiate_locale("de-DE"), "Europe/Berlin")


def test_history_says_who_did_what_and_shows_only_a_declines_reason() -> None:
    item = {
        "client_id": "c2",
        "history": [
            {"at": "2026-03-01T10:00:00Z", "actor": "client:c1", "action": "submitted", "details": {}},
            {"at": "2026-03-01T11:00:00Z", "actor": "staff:s1", "action": "proposed", "details": {"note": "x"}},
            {"at": "2026-03-02T09:00:00Z", "actor": "system", "action": "expired", "details": {}},
            {"at": "2026-03-02T10:00:00Z", "actor": "staff:s1", "action": "declined", "details": {"reason": "Full"}},
        ],
    }
    seen = [(e["what"], e["who"], e["reason"]) for e in history(item)]
    assert seen == [
        ("Requested", "you", ""),  # under an id merged away since: still the client's own step
        ("Other times proposed", "the business", ""),
        ("Expired (every requested time passed)", "automatically", ""),
        ("Declined", "the business", "Full"),
    ]


def test_the_waitlist_form_names_each_field_it_refuses() -> None:
    today = date(2026, 12, 8)  # a client's day: in Berlin already while the server's UTC says the 7th

    def checks(**fields: str) -> dict[str, str]:
        base = {"service_id": "s", "from_date": today.isoformat(), "to_date": today.isoformat()}
        found: dict[str, str] = join_checks(MultiDict(base | fields), today)
        return found

    assert checks() == {}
    assert checks(window_start="09:00", window_end="12:00") == {}
    assert set(checks(service_id="")) == {"service_id"}
    assert set(checks(from_date="soon")) == {"from_date"}
    assert set(checks(from_date=(today - timedelta(days=1)).isoformat())) == {"from_date"}
    assert set(checks(to_date=(today - timedelta(days=1)).isoformat())) == {"to_date"}
    assert set(checks(to_date=(today + timedelta(days=181)).isoformat())) == {"to_date"}
    assert set(checks(window_start="09:00")) == {"window_end"}
    assert set(checks(window_end="09:00")) == {"window_start"}
    assert set(checks(window_start="12:00", window_end="09:00")) == {"window_end"}


def test_credits_read_in_their_unit_or_currency_by_locale() -> None:
    sessions = {"name": "Class pass", "unit": "session", "currency": None}
    money = {"name": "Gift card", "unit": "EUR", "currency": "EUR"}
    assert amount(EN, 1, sessions) == "1 session"
    assert amount(EN, 1200, sessions) == "1,200 sessions"
    assert amount(DE, 1200, sessions) == "1.200 sessions"
    assert amount(DE, 2550, money) == "25,50\xa0€"
    lot = {"id": "l1", "remaining": 3, "starts_at": "2026-01-01T00:00:00Z", "expires_at": None}
    [held] = holdings(EN, [{"credit_type": sessions, "balance": 3, "lots": [lot]}])
    assert (held["balance"], held["lots"][0]["remaining"]) == ("3 sessions", "3 sessions")


def test_preferences_show_every_category_and_channel_and_default_to_allowed() -> None:
    rows = preference_rows([{"category": "reminders", "channel": "email", "allowed": False}])
    switches = {(r["category"], c["channel"]): c["allowed"] for r in rows for c in r["channels"]}
    assert len(switches) == 6
    assert switches.pop(("reminders", "email")) is False
    assert all(switches.values())


def test_file_sizes_in_decimal_units_by_locale() -> None:
    assert (EN.file_size(999), EN.file_size(2_345), EN.file_size(5_600_000)) == ("999 byte", "2.3 kB", "5.6 MB")
    assert DE.file_size(2_345) == "2,3 kB"


def test_custom_fields_send_only_what_changed_typed_as_the_api_takes_it() -> None:
    fields = [
        {"key": "size", "type": "number"},
        {"key": "likes", "type": "multiple_choice"},
        {"key": "vip", "type": "checkbox"},
        {"key": "note", "type": "text"},
        {"key": "since", "type": "date"},
    ]
    current = {"size": 38, "likes": ["tea"], "note": "hello"}
    form = MultiDict(
        [
            ("custom.size", "38"),
            ("custom.likes", "tea"),
            ("custom.likes", "cake"),
            ("custom.vip", "on"),
            ("custom.note", " "),
            ("custom.since", ""),
        ]
    )
    changed, problems = changes(fields, current, form)
    # The size is as it was; a blank text clears; an untouched empty date stays absent.
    assert changed == {"likes": ["tea", "cake"], "vip": True, "note": None} and problems == {}
    assert changes(fields, current, MultiDict([("custom.size", "big")]))[1] == {"custom.size": "Enter a number."}
    assert changes(fields[:1], {}, MultiDict([("custom.size", "38.5")]))[0] == {"size": 38.5}


def test_a_new_request_asks_the_booking_forms_questions_with_the_clients_kept_answers() -> None:
    questions = [
        {
            "key": "hair",
            "label": "Hair length",
            "type": "single_choice",
            "options": ["Short", "Long"],
            "required": True,
        },
        {"key": "terms", "label": "Terms accepted", "type": "checkbox", "options": [], "required": True},
    ]
    kept = displayed(questions, {"hair": "Long"})
    assert kept == {"hair": "Long", "terms": False}
    # Only what was given is sent: a kept answer the client leaves alone stays on the record.
    assert answers(questions, MultiDict({"custom.hair": "Short"})) == ({"hair": "Short"}, {})
    html = (
        template_environment()
        .get_template("portal/request_new.html")
        .render(
            request=make_mocked_request("GET", "/portal/requests/new"),
            account=None,
            csrf_token="t",
            fmt=EN,
            messages=[],
            static=lambda name: f"/static/{name}",
            unread=0,
            permissions={"view_appointments": True},
            services=[
                {"id": "s1", "name": "Cut", "duration_minutes": 30, "price": {"amount_minor": 0, "currency": "EUR"}}
            ],
            service={"id": "s1", "name": "Cut"},
            day=date(2030, 1, 2),
            today=date(2030, 1, 1),
            last_day=date(2031, 1, 1),
            slots=[{"start": "2030-01-02T09:00:00Z"}],
            chosen="",
            submission="k",
            description="",
            errors={"custom.terms": "is required"},
            editing=None,
            steps_action="/portal/requests/new",
            submit_action="/portal/requests",
            questions=questions,
            answers=kept,
            input_name=input_name,
            input_types=INPUT_TYPES,
        )
    )
    assert "<option selected>Long</option>" in html
    assert 'id="custom.terms" name="custom.terms"  required aria-invalid="true"' in " ".join(html.split("\n"))
    assert 'id="custom.terms-error">is required' in html


def test_a_request_held_for_approval_tells_the_client_kindly_that_the_team_confirms_it() -> None:
    item = {
        "id": "r1",
        "reference": "REQ-1001",
        "service_name": "Cut",
        "status": "pending",
        "options": [{"start": "2030-01-02T09:00:00Z", "end": "2030-01-02T09:30:00Z"}],
        "duration_minutes": 30,
        "preferred_staff_name": "",
        "message": "",
        "created_at": "2030-01-01T09:00:00Z",
        "final": None,
        "proposal": None,
        "history": [],
    }

    def page(**changes: object) -> str:
        return (
            template_environment()
            .get_template("portal/request.html")
            .render(
                request=make_mocked_request("GET", "/portal/requests/r1"),
                account=None,
                csrf_token="t",
                fmt=EN,
                messages=[],
                static=lambda name: f"/static/{name}",
                unread=0,
                permissions={"view_appointments": True},
                item=item | changes,
                history=[],
                labels=STATUS_LABELS,
                open_statuses=OPEN_STATUSES,
            )
        )

    held = page(held_for_approval=True)
    assert "the team confirms your appointments personally" in held
    assert "no-show" not in held.lower()
    assert "data-held-for-approval" not in page(held_for_approval=False)
    assert "data-held-for-approval" not in page(held_for_approval=True, status="approved")
