"""Credits and packages in the staff console: what the forms send (a money type's amounts in minor units by the
viewer's locale, a unit type's as whole numbers) and a client's holdings as the page shows them."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import make_mocked_request
from multidict import MultiDict

from atrium_web.formatting import Formatter, negotiate_locale
from atrium_web.pages import template_environment
from atrium_web.views.check_in import used_in_words
from atrium_web.views.credits import (
    KINDS,
    charge_body,
    client_change_by_type,
    credit_type_body,
    loyalty_body,
    package_body,
)
from atrium_web.views.settings import FormError

TYPES = {
    "t-sessions": {"id": "t-sessions", "name": "Massage 60", "unit": "session", "currency": None},
    "t-money": {"id": "t-money", "name": "Wallet", "unit": "EUR", "currency": "EUR"},
}
GERMAN = make_mocked_request("POST", "/", headers={"Accept-Language": "de-DE"})


def test_a_credit_type_is_counted_in_a_unit_or_is_money_in_a_currency() -> None:
    assert credit_type_body(MultiDict({"name": " Massage 60 ", "unit": "session"})) == {
        "name": "Massage 60",
        "unit": "session",
    }
    assert credit_type_body(MultiDict({"name": "Wallet", "money": "on", "currency": "eur"})) == {
        "name": "Wallet",
        "currency": "EUR",
    }
    with pytest.raises(FormError, match="currency"):
        credit_type_body(MultiDict({"name": "Wallet", "money": "on", "currency": "euro"}))


def test_a_package_gives_each_row_its_amount_in_the_types_own_terms() -> None:
    form = MultiDict(
        {
            "name": "Ten massages",
            "type-0": "t-sessions",
            "amount-0": "10",
            "type-1": "t-money",
            "amount-1": "25,50",
            "validity_days": "",
            "price": "450",
            "currency": "EUR",
            "tax_rate": "19",
            "invoicing": "draft",
            "payment_terms_days": "14",
        }
    )
    assert package_body(form, GERMAN, TYPES) == {
        "name": "Ten massages",
        "allocations": [{"credit_type_id": "t-sessions", "amount": 10}, {"credit_type_id": "t-money", "amount": 2550}],
        "validity_days": None,
        "price_minor": 45000,
        "currency": "EUR",
        "tax_rate_bp": 1900,
        "invoicing": "draft",
        "payment_terms_days": 14,
    }
    for broken, named in (
        ({"type-0": "", "amount-0": ""}, "at least one"),
        ({"type-0": "t-unknown"}, "choose a credit type"),
        ({"amount-0": "1.5"}, "whole number"),
    ):
        with pytest.raises(FormError, match=named):
            package_body(MultiDict({**form, "type-1": "", "amount-1": "", **broken}), GERMAN, TYPES)


def test_a_charge_keeps_its_days_and_reads_money_in_the_viewers_locale() -> None:
    form = MultiDict({"credit_type_id": "t-money", "amount": "1.000,5", "expires_on": "2030-01-31", "note": " gift "})
    assert charge_body(form, GERMAN, TYPES) == {
        "credit_type_id": "t-money",
        "amount": 100050,
        "note": "gift",
        "expires_on": "2030-01-31",
    }
    with pytest.raises(FormError, match="credit type"):
        charge_body(MultiDict({"amount": "1"}), GERMAN, TYPES)


def test_a_clients_holdings_show_each_lot_with_its_expiry() -> None:
    held = {
        "client_id": "c1",
        "as_of": "2030-01-01T00:00:00Z",
        "balances": [
            {
                "credit_type": TYPES["t-sessions"],
                "balance": 9,
                "frozen": 0,
                "available": 9,
                "lots": [{"remaining": 9, "expires_at": "2030-03-01T23:00:00Z", "note": ""}],
            },
            {
                "credit_type": TYPES["t-money"],
                "balance": 2550,
                "frozen": 0,
                "available": 2550,
                "lots": [{"remaining": 2550, "expires_at": None, "note": "gift"}],
            },
        ],
    }
    context: dict[str, Any] = {
        "request": make_mocked_request("GET", "/billing/credits/client"),
        "account": None,
        "csrf_token": "t",
        "fmt": Formatter(negotiate_locale("en-US"), "Europe/Berlin"),
        "messages": [],
        "static": lambda name: f"/static/{name}",
        "pending": 0,
    }
    html = (
        template_environment()
        .get_template("staff/billing/client_credits.html")
        .render(
            **context,
            client={"id": "c1", "first_name": "Ada", "last_name": "L", "email": "", "phone": ""},
            candidates=[],
            q="",
            types=TYPES,
            packages=[],
            services=[{"id": "s1", "name": "Massage"}],
            loyalty={"enabled": True, "reward_credit_type_id": "t-sessions", "points_per_reward_unit": 50},
            held=held,
            history=[
                {
                    "id": "x2",
                    "kind": "use",
                    "effective_at": "2030-01-05T09:00:00Z",
                    "note": "",
                    "change": {"t-sessions": -1},
                    "reversible": True,
                },
                {
                    "id": "x1",
                    "kind": "charge",
                    "effective_at": "2030-01-01T09:00:00Z",
                    "note": "gift",
                    "change": {"t-money": 2550},
                    "reversible": False,
                },
            ],
            kinds=KINDS,
            submission="k1",
        )
    )
    assert "9 session until Mar 2, 2030" in html
    assert '€25.50 without expiry <span class="muted">(gift)</span>' in html
    assert 'action="/billing/credits/clients/c1/charges"' in html and "Sell a package" not in html
    assert 'action="/billing/credits/clients/c1/check-ins"' in html and "Check Ada in" in html
    assert 'step="50" required' in html and "Every 50 points buy one session of Massage 60." in html
    assert "<td>Used</td>\n      <td>\u22121 session (Massage 60)</td>" in html
    assert "<td>Charged</td>\n      <td>+€25.50 Wallet</td>" in html
    assert html.count("Give back<span") == 1 and 'action="/billing/credits/clients/c1/transactions/x2/reverse"' in html
    assert 'action="/billing/credits/clients/c1/check-ins"' in html and "Check Ada in" in html
    assert 'step="50" required' in html and "Every 50 points buy one session of Massage 60." in html


def test_a_check_in_says_what_the_visit_took_from_the_client() -> None:
    fmt = Formatter(negotiate_locale("en-US"), "Europe/Berlin")
    entries = [
        {"lot_id": "l1", "credit_type_id": "t-sessions", "account": "client", "amount": -1},
        {"lot_id": "l1", "credit_type_id": "t-sessions", "account": "used", "amount": 1},
        {"lot_id": "l2", "credit_type_id": "t-money", "account": "client", "amount": -550},
        {"lot_id": "l2", "credit_type_id": "t-money", "account": "used", "amount": 550},
    ]
    check_in = {"client_id": "c1", "transaction": {"entries": entries}}
    assert used_in_words(fmt, check_in, TYPES) == "used 1 session of Massage 60, €5.50 of Wallet"
    assert used_in_words(fmt, {"client_id": "c1", "transaction": None}, TYPES) == "nothing was used"


def test_a_loyalty_program_reads_its_step_as_money_and_says_itself_in_words() -> None:
    form = MultiDict(
        {
            "points_credit_type_id": "t-points",
            "points_per_step": "1",
            "step": "10,00",
            "currency": "eur",
            "points_per_visit": "5",
            "validity_days": "",
            "reward_credit_type_id": "t-money",
            "points_per_reward_unit": "100",
        }
    )
    assert loyalty_body(form, GERMAN) == {
        "points_credit_type_id": "t-points",
        "points_per_step": 1,
        "points_per_visit": 5,
        "validity_days": None,
        "reward_credit_type_id": "t-money",
        "points_per_reward_unit": 100,
        "currency": "EUR",
        "step_minor": 1000,
    }
    points = {"id": "t-points", "name": "Points", "unit": "point", "currency": None}
    program = {
        "enabled": True,
        "points_credit_type_id": "t-points",
        "currency": "EUR",
        "step_minor": 1000,
        "points_per_step": 1,
        "points_per_visit": 5,
        "validity_days": 365,
        "reward_credit_type_id": "t-sessions",
        "points_per_reward_unit": 50,
    }
    html = (
        template_environment()
        .get_template("staff/billing/credits.html")
        .render(
            request=make_mocked_request("GET", "/billing/credits"),
            account=None,
            csrf_token="t",
            fmt=Formatter(negotiate_locale("en-US"), "Europe/Berlin"),
            messages=[],
            static=lambda name: f"/static/{name}",
            pending=0,
            types=TYPES | {"t-points": points},
            packages=[],
            currency="EUR",
            rows=range(3),
            loyalty=program,
            step_text="10",
        )
    )
    words = " ".join(html.split())
    assert "Clients earn Points: 1 for every €10.00 paid and 5 for each visit; they last 365 days;" in words
    assert "50 buy one session of Massage 60." in words
    # Only a type counted in units can hold points; the wallet is not offered.
    points_select = html.split('id="points_credit_type_id"')[1].split("</select>")[0]
    assert "Points" in points_select and "Wallet" not in points_select


def test_a_transaction_says_what_it_did_to_the_clients_holding_per_type() -> None:
    entries = [
        {"lot_id": "l1", "credit_type_id": "t-sessions", "account": "client", "amount": -1},
        {"lot_id": "l2", "credit_type_id": "t-sessions", "account": "client", "amount": -1},
        {"lot_id": "l1", "credit_type_id": "t-sessions", "account": "used", "amount": 2},
    ]
    assert client_change_by_type({"entries": entries}) == {"t-sessions": -2}
