"""What the staff console's membership forms send: a definition's price in minor units by the viewer's locale and
its tax rate in basis points, a freeze by days or until a day, a cancellation policy's windows and outcomes,
each refused value named."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import make_mocked_request
from multidict import MultiDict

from atrium_web.views.cancellation_policy import policy_body
from atrium_web.views.memberships import action_body, membership_body
from atrium_web.views.settings import FormError


def viewer(language: str) -> Any:
    return make_mocked_request("POST", "/", headers={"Accept-Language": language})


def test_a_membership_definition_in_the_units_the_api_takes() -> None:
    fields = {
        "name": " Gold ",
        "package_id": "",
        "duration_count": "3",
        "duration_unit": "month",
        "price": "1.234,50",
        "currency": "eur",
        "tax_rate": "7.5",
        "invoicing": "draft",
        "tolerance_days": "5",
        "auto_renew": "on",
    }
    body = membership_body(MultiDict(fields), viewer("de-DE"))
    assert body == {
        "name": "Gold",
        "package_id": None,
        "benefits": "",
        "duration_count": 3,
        "duration_unit": "month",
        "price_minor": 123450,
        "currency": "EUR",
        "tax_rate_bp": 750,
        "invoicing": "draft",
        "payment_terms_days": 0,
        "tolerance_days": 5,
        "auto_renew": True,
        "expiring_notice_days": 7,
    }
    for field, value, named in (
        ("currency", "EURO", "currency"),
        ("tax_rate", "high", "tax rate"),
        ("tolerance_days", "-1", "tolerance days"),
        ("price", "12.345", "price"),
    ):
        with pytest.raises(FormError, match=named):
            membership_body(MultiDict(fields | {"price": "12"} | {field: value}), viewer("en-US"))


def test_a_freeze_is_for_some_days_or_until_a_day_and_a_cancel_keeps_its_reason() -> None:
    assert action_body("freeze", MultiDict({"days": "14", "reason": "Travel"})) == {"days": 14, "reason": "Travel"}
    assert action_body("freeze", MultiDict({"until": "2027-01-10"})) == {"until": "2027-01-10", "reason": ""}
    assert action_body("cancel", MultiDict({"reason": " Moved away "})) == {"reason": "Moved away"}
    assert action_body("renew", MultiDict({"reason": "x"})) == {}


def test_a_cancellation_policy_form_sends_its_windows_outcomes_and_repeat_rule() -> None:
    form = MultiDict(
        {
            "currency": "eur",
            "window-0-within": "48",
            "window-0-unit": "hours",
            "window-0-kind": "fee",
            "window-0-percent": "50",
            "window-1-within": "1",
            "window-1-unit": "days",
            "window-1-kind": "fee",
            "window-1-fee": "1.234,50",
            "window-2-within": "",
            "window-2-kind": "forfeit",
            "no_show-kind": "forfeit",
            "no_shows": "3",
            "period_days": "30",
            "block_days": "14",
            "repeat_outcome": "require_approval",
        }
    )
    assert policy_body(form, viewer("de-DE")) == {
        "windows": [
            {"within_hours": 48, "outcome": {"kind": "fee", "percent": 50}},
            {"within_days": 1, "outcome": {"kind": "fee", "fee_minor": 123450, "currency": "EUR"}},
        ],
        "no_show": {"kind": "forfeit", "percent": 100},
        "applies_to_staff_cancellations": False,
        "repeat_no_shows": {"no_shows": 3, "period_days": 30, "block_days": 14, "outcome": "require_approval"},
    }
    with pytest.raises(FormError, match="window 1"):
        policy_body(MultiDict({"currency": "EUR", "window-0-within": "soon"}), viewer("en-US"))
    with pytest.raises(FormError, match="period days"):
        policy_body(MultiDict({"currency": "EUR", "no_shows": "3"}), viewer("en-US"))
    assert policy_body(MultiDict({"currency": "EUR"}), viewer("en-US"))["no_show"] == {"kind": "free"}
