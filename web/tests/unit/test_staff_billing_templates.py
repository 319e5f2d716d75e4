"""The new staff pages as rendered from the gateway's shapes: a policy in words with its fixed fee ready to edit,
a subscription's credits and the actions its status allows, a campaign's segment, audience and report, the
payment reminder rule in words, a refused staff request offering the override, and a draft invoice's form."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import make_mocked_request
from multidict import MultiDict

from atrium_web.formatting import Formatter, negotiate_locale
from atrium_web.pages import template_environment
from atrium_web.views.billing import invoice_lines, line_rows
from atrium_web.views.campaigns import CHANNELS
from atrium_web.views.campaigns import STATUSES as CAMPAIGN_STATUSES
from atrium_web.views.cancellation_policy import OUTCOMES, amount_text, outcome_in_words
from atrium_web.views.day_rules import MEMBERSHIP_EXPIRY, PAYMENT
from atrium_web.views.memberships import ACTIONS, STATUS_LABELS

ENV = template_environment()
FMT = Formatter(negotiate_locale("en-US"), "Europe/Berlin")


def render(template: str, path: str = "/", **context: Any) -> str:
    common = {
        "request": make_mocked_request("GET", path),
        "account": None,
        "csrf_token": "t",
        "fmt": FMT,
        "messages": [],
        "static": lambda name: f"/static/{name}",
        "pending": 0,
    }
    return ENV.get_template(template).render(**common, **context)


def test_the_policy_page_says_the_rules_in_words_and_fills_the_form() -> None:
    fixed = {"kind": "fee", "percent": None, "fee": {"amount_minor": 1250, "currency": "EUR"}}
    current = {
        "service_id": None,
        "windows": [
            {"within_hours": 48, "within_days": None, "outcome": {"kind": "fee", "percent": 50, "fee": None}},
            {"within_hours": None, "within_days": 1, "outcome": fixed},
        ],
        "no_show": {"kind": "forfeit", "percent": 100, "fee": None},
        "repeat_no_shows": {"no_shows": 3, "period_days": 30, "block_days": 14, "outcome": "require_approval"},
        "applies_to_staff_cancellations": True,
        "updated_at": "2026-12-07T10:00:00+00:00",
    }
    html = render(
        "staff/settings/cancellation_policy.html",
        "/settings/cancellation-policy",
        current=current,
        rows=[*current["windows"], None, None],
        overrides=[current | {"service_id": "s1"}],
        services={"s1": {"name": "Haircut"}},
        currency="EUR",
        outcomes=OUTCOMES,
        amount_text=lambda money: amount_text(FMT, money),
        in_words=lambda outcome: outcome_in_words(FMT, outcome),
    )
    assert "Cancelled later than 48 hours before: a fee of 50 % of the price" in html
    assert "1 days (on the appointment's clock) before: a fee of €12.50" in html
    assert 'id="window-1-fee" name="window-1-fee" inputmode="decimal" value="12.5"' in html
    assert 'Use the business\'s policy<span class="visually-hidden"> for Haircut' in html
    assert "3 no-shows within 30 days make the client's online requests need staff approval for 14 days." in html
    assert '<option value="require_approval" selected>' in html


@pytest.mark.parametrize(
    ("status", "buttons"),
    [("active", {"freeze", "renew", "cancel"}), ("frozen", {"resume", "cancel"}), ("cancelled", set())],
)
def test_a_subscription_offers_what_its_status_allows(status: str, buttons: set[str]) -> None:
    subscription = {
        "id": "sub1",
        "membership_name": "Gold",
        "status": status,
        "starts_on": "2026-12-01",
        "expires_on": "2026-12-31",
        "tolerance_until": "2027-01-03",
        "frozen_from": "2026-12-05",
        "frozen_until": None,
        "freeze_reason": "",
        "cancel_reason": "",
        "price_minor": 9000,
        "currency": "EUR",
        "invoice_id": "i1",
        "auto_renew": False,
        "credits": [{"credit_type_id": "ct", "amount": 10, "remaining": 9, "expires_at": "2027-01-03T23:00:00+00:00"}],
    }
    data = {
        "subscriptions": [subscription],
        "memberships": [],
        "credit_types": {"ct": {"name": "Class pass"}},
        "labels": STATUS_LABELS,
        "actions": ACTIONS,
        "request_key": "k",
    }
    html = render("staff/_card_memberships.html", card={"client_id": "c1"}, opened={"data": data})
    assert "Class pass" in html and "9 of 10 left" in html and "Grace until" in html
    offered = {a for a in ("freeze", "resume", "renew", "cancel") if f"/subscriptions/sub1/{a}" in html}
    assert offered == buttons
    assert "define one" in html  # nothing to register for yet
    assert 'href="/billing/credits/client?client_id=c1"' in html  # the client's credits, packages and check-ins


def test_a_campaign_page_names_its_segment_and_reports_or_counts() -> None:
    campaign = {
        "id": "c1",
        "name": "Spring",
        "channel": "email",
        "segment": {"group_id": "g1", "status_id": None, "tag": "vip"},
        "source": "{% block text %}a{% endblock %}",
        "rate_per_minute": 60,
        "status": "sent",
        "created_at": "2026-12-07T10:00:00Z",
        "started_at": "2026-12-07T10:05:00Z",
        "report": {
            "recipients": 4,
            "pending": 0,
            "sent": 2,
            "delivered": 1,
            "failed": 0,
            "skipped": 2,
            "skip_reasons": [{"reason": "the client opted out", "count": 2}],
        },
    }
    context = {"group_names": {"g1": "VIP"}, "status_labels": {}, "channels": CHANNELS, "statuses": CAMPAIGN_STATUSES}
    html = render("staff/campaign.html", campaign=campaign, audience=None, audience_unavailable=False, **context)
    assert "Clients of the group VIP tagged vip" in html and "The client opted out: 2" in html
    assert "Send the campaign" not in html
    audience = {"matching": 4, "recipients": 2, "opted_out": 1, "without_address": 1}
    draft = campaign | {"status": "draft", "started_at": None}
    html = render("staff/campaign.html", campaign=draft, audience=audience, audience_unavailable=False, **context)
    assert "<strong>2</strong> of 4 matching clients would get it now." in html and "Send the campaign" in html


def test_the_payment_reminder_rule_reads_as_a_sentence() -> None:
    html = render(
        "staff/settings/day_rule.html",
        "/settings/payment-reminders",
        kind=PAYMENT,
        rule={"days": [-3, 0], "channels": ["email", "sms"], "send_at": "09:00", "is_default": False},
        days_text="-3, 0",
        in_words=["3 days before the due date", "on the due date"],
        channel_words="email and text message",
        channels={"email": "Email", "sms": "Text message", "in_app": "In the portal"},
    )
    assert "3 days before the due date, on the due date, by email and text message, at 9:00\u202fAM" in html
    assert "Back to the default" in html
    html = render(
        "staff/settings/day_rule.html",
        "/settings/membership-expiry",
        kind=MEMBERSHIP_EXPIRY,
        rule={"days": [0, 3], "channels": ["email"], "send_at": "08:30", "is_default": True},
        days_text="0, 3",
        in_words=[MEMBERSHIP_EXPIRY.day_in_words(d) for d in (0, 3)],
        channel_words="email",
        channels={"email": "Email", "sms": "Text message", "in_app": "In the portal"},
    )
    assert "A client is reminded that their membership ends on the expiry date, 3 days after the expiry" in html
    assert 'action="/settings/membership-expiry"' in html and "(the default)" in html
    assert "Back to the default" not in html


def test_a_refused_staff_request_keeps_its_values_and_offers_the_override() -> None:
    html = render(
        "staff/request_new.html",
        "/requests/new",
        client={"id": "c1", "first_name": "Ada", "last_name": "L", "email": "a@example.com"},
        candidates=[],
        q="",
        services=[{"id": "s1", "name": "Cut", "duration_minutes": 60}],
        staff=[{"staff_id": "m1", "display_name": "Mara"}],
        values=MultiDict({"service_id": "s1", "time_0": "2026-12-10T10:00"}),
        errors={},
        refusal="BOOKING_BLOCKED",
        refusal_text="This client is blocked from booking online.",
        max_times=3,
        request_key="k",
    )
    assert "blocked from booking online" in html and 'id="override_booking_rules"' in html
    assert 'value="2026-12-10T10:00"' in html and '<option value="s1" selected>' in html


def test_a_draft_is_changed_on_the_new_invoice_form_filled_with_its_lines_and_version() -> None:
    draft = {
        "id": "i1",
        "client_id": "c1",
        "currency": "EUR",
        "status": "draft",
        "version": 3,
        "payment_terms_days": 30,
        "notes": "Thank you",
        "bill_to_name": "Ada L",
        "lines": [
            {
                "description": "Haircut",
                "quantity": "1",
                "unit_price_minor": 4550,
                "tax_rate_bp": 1900,
                "appointment_id": "a1",
            }
        ],
    }
    rows = line_rows(FMT, draft)
    assert rows[0] == {"description": "Haircut", "quantity": "1", "price": "45.5", "tax": "19", "appointment_id": "a1"}
    assert len(rows) == 3 and rows[1]["description"] == ""
    html = render(
        "staff/billing/invoice_new.html",
        "/billing/invoices/i1/edit",
        client={"id": "c1", "first_name": "Ada", "last_name": "L"},
        candidates=[],
        q="",
        currency="EUR",
        lines=rows,
        editing=draft,
    )
    assert 'action="/billing/invoices/i1/edit"' in html and 'name="version" value="3"' in html
    assert 'name="rows" value="3"' in html and 'name="appointment-0" value="a1"' in html
    assert 'value="45.5"' in html and ">Thank you</textarea>" in html and "Save changes" in html

    # Sent back: every row read, the appointment's line keeps its link, an emptied row is left out.
    form = MultiDict(
        {
            "rows": "3",
            "description-0": "Haircut",
            "quantity-0": "1",
            "price-0": "45.5",
            "tax-0": "19",
            "appointment-0": "a1",
            "description-2": "Wash",
            "quantity-2": "2",
            "price-2": "5",
            "tax-2": "0",
        }
    )
    assert invoice_lines(form, "EUR", make_mocked_request("POST", "/", headers={"Accept-Language": "en"})) == [
        {
            "description": "Haircut",
            "quantity": "1",
            "unit_price_minor": 4550,
            "tax_rate_bp": 1900,
            "appointment_id": "a1",
        },
        {"description": "Wash", "quantity": "2", "unit_price_minor": 500, "tax_rate_bp": 0},
    ]
