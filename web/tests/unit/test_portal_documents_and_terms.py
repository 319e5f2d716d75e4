"""The portal's documents, memberships and cancellation terms, against a fake gateway: the statement's days are
checked before any call and named when wrong, files pass through as the gateway writes them, the terms and
memberships read in the client's words, money by locale."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from atrium_web.app import create_app
from atrium_web.config import WebSettings
from atrium_web.formatting import Formatter, negotiate_locale
from atrium_web.views.portal_cancellation import cost_in_words, terms_shown
from atrium_web.views.portal_documents import statement_range
from atrium_web.views.portal_membership import memberships_shown

from .test_sessions_and_security import FakeGateway, Web

EN = Formatter(negotiate_locale("en-US"), "Europe/London")
DE = Formatter(negotiate_locale("de-DE"), "Europe/Berlin")
PASS = {"id": "ct1", "name": "Class pass", "unit": "session", "currency": None}
PDF = b"%PDF-1.4 fake\n%%EOF\n"
FREE = {"outcome": {"kind": "free", "percent": None, "fee": None}, "fee": None, "forfeit": None}


def test_the_statement_defaults_to_this_year_and_names_a_wrong_day() -> None:
    today = dt.date(2026, 12, 7)
    assert statement_range({}, today) == ({"from": "2026-01-01", "to": "2026-12-07"}, {})
    assert statement_range({"from": "2026-03-01", "to": "2026-02-28"}, today)[1] == {
        "to": "The last day cannot be before the first."
    }
    assert set(statement_range({"from": "soon"}, today)[1]) == {"from"}
    assert set(statement_range({"from": "2000-01-01", "to": "2026-01-01"}, today)[1]) == {"to"}


def test_a_cost_reads_as_a_fee_credits_kept_or_free() -> None:
    fee = {"amount_minor": 1500, "currency": "EUR"}
    assert cost_in_words(EN, FREE, {}) == "free of charge"
    assert cost_in_words(DE, {"fee": fee, "forfeit": None}, {}) == "a fee of 15,00\xa0€"
    kept = {"fee": None, "forfeit": {"credit_type_id": "ct1", "units": 2}}
    assert cost_in_words(EN, kept, {"ct1": PASS}) == "2 sessions of Class pass kept"
    assert cost_in_words(EN, kept, {}) == "2 credits kept"  # a type the client may not see billing of
    assert cost_in_words(EN, {"fee": fee, "forfeit": kept["forfeit"]}, {"ct1": PASS}).startswith("a fee of €15.00 and")


def test_terms_say_whether_cancelling_is_still_free() -> None:
    service = {"service_id": "s1", "cancel_now": FREE, "no_show": FREE, "free_until": None}
    terms = {"at": "2026-12-07T10:00:00+00:00", "free_until": "2026-12-08T10:00:00+00:00", "services": [service]}
    shown = terms_shown(EN, terms, {"s1": {"name": "Haircut"}}, {})
    assert shown["free_now"] and shown["services"] == [
        {"name": "Haircut", "cancel_now": "Free of charge", "no_show": "Free of charge", "free_until": None}
    ]
    assert not terms_shown(EN, terms | {"at": "2026-12-09T10:00:00+00:00"}, {}, {})["free_now"]
    assert terms_shown(EN, terms | {"free_until": None}, {}, {})["free_now"]


def subscription(**fields: Any) -> dict[str, Any]:
    lot = {"id": "l1", "credit_type_id": "ct1", "amount": 10, "remaining": 0, "expires_at": None}
    return {
        "id": "sub1",
        "membership_name": "Gold",
        "status": "active",
        "starts_on": "2026-12-01",
        "expires_on": "2026-12-31",
        "tolerance_until": "2026-12-31",
        "credits": [lot],
    } | fields


def test_memberships_read_their_status_grace_and_credits_in_units() -> None:
    [gold] = memberships_shown(DE, [subscription()], {"ct1": PASS})
    assert (gold["status_label"], gold["grace"]) == ("Active", None)
    assert gold["lots"] == [
        {
            "id": "l1",
            "name": "Class pass",
            "remaining": "0 sessions",
            "given": "10 sessions",
            "expires_at": None,
            "holds": False,
        }
    ]
    [late] = memberships_shown(EN, [subscription(status="tolerance", tolerance_until="2027-01-07")], {})
    assert (late["status_label"], late["grace"]) == ("Expired, in its grace period", "2027-01-07")
    assert late["lots"][0]["given"] == "10 credits"


class DocumentsGateway(FakeGateway):
    """The portal calls of these pages; ``statement_queries`` records what the statement was asked for."""

    statement_queries: list[dict[str, str]]

    def app(self) -> web.Application:
        app = super().app()
        self.statement_queries = []

        async def permissions(request: web.Request) -> web.Response:
            return web.json_response(
                {"view_appointments": True, "view_invoices": True, "view_documents": True, "edit_profile": False}
            )

        async def notifications(request: web.Request) -> web.Response:
            return web.json_response({"items": [], "unread_count": 0})

        async def statement(request: web.Request) -> web.Response:
            self.statement_queries.append(dict(request.query))
            if request.query.get("format") == "pdf":
                return web.Response(
                    body=PDF,
                    content_type="application/pdf",
                    headers={"Content-Disposition": 'attachment; filename="statement.pdf"'},
                )
            entry = {
                "day": "2026-03-02",
                "kind": "invoice",
                "record_id": "inv1",
                "description": "Invoice INV-7",
                "amount_minor": 7140,
                "balance_minor": 7140,
            }
            currency = {
                "currency": "EUR",
                "opening_balance_minor": 0,
                "invoiced_minor": 7140,
                "paid_minor": 0,
                "refunded_minor": 0,
                "closing_balance_minor": 7140,
                "paid_to_date_minor": 0,
                "balance_due_minor": 7140,
                "credit_minor": 0,
                "entries": [entry],
            }
            body = {"from": request.query["from"], "to": request.query["to"], "currencies": [currency]}
            return web.json_response(body)

        async def invoice_pdf(request: web.Request) -> web.Response:
            if request.match_info["invoice_id"] != "inv1":
                return web.json_response({"status": 404}, status=404, content_type="application/problem+json")
            return web.Response(
                body=PDF,
                content_type="application/pdf",
                headers={"Content-Disposition": 'attachment; filename="INV-7.pdf"'},
            )

        async def appointment(request: web.Request) -> web.Response:
            return web.json_response(
                {
                    "id": "a1",
                    "status": "booked",
                    "start": "2026-12-10T09:00:00+00:00",
                    "end": "2026-12-10T10:00:00+00:00",
                    "segments": [{"service_id": "s1"}],
                }
            )

        async def services(request: web.Request) -> web.Response:
            return web.json_response({"items": [{"id": "s1", "name": "Haircut"}]})

        async def credits(request: web.Request) -> web.Response:
            return web.json_response({"balances": [{"credit_type": PASS, "balance": 3, "lots": []}]})

        async def terms(request: web.Request) -> web.Response:
            late = {"fee": {"amount_minor": 2500, "currency": "EUR"}, "forfeit": None}
            no_show = {"fee": None, "forfeit": {"credit_type_id": "ct1", "units": 1}}
            service = {"service_id": "s1", "cancel_now": late, "no_show": no_show, "free_until": None}
            return web.json_response(
                {"at": "2026-12-09T12:00:00+00:00", "free_until": "2026-12-09T09:00:00+00:00", "services": [service]}
            )

        app.router.add_get("/api/v1/portal/permissions", permissions)
        app.router.add_get("/api/v1/portal/notifications", notifications)
        app.router.add_get("/api/v1/portal/statement", statement)
        app.router.add_get("/api/v1/portal/invoices/{invoice_id}/pdf", invoice_pdf)
        app.router.add_get("/api/v1/portal/appointments/{appointment_id}", appointment)
        app.router.add_get("/api/v1/portal/services", services)
        app.router.add_get("/api/v1/portal/credits", credits)
        app.router.add_get("/api/v1/portal/appointments/{appointment_id}/cancellation-terms", terms)
        return app


@pytest.fixture
async def portal() -> AsyncIterator[Web]:
    fake = DocumentsGateway()
    gateway = TestServer(fake.app())
    await gateway.start_server()
    settings = WebSettings(web_session_secret="s" * 40, web_gateway_url=str(gateway.make_url("")))
    async with TestClient(TestServer(create_app(settings))) as client:
        site = Web(client, fake)
        token = await site.csrf("/portal/sign-in")
        signed_in = await client.post(
            "/portal/sign-in",
            data={"csrf_token": token, "business": "studio", "email": "mia@example.com", "password": "x"},
            allow_redirects=False,
        )
        assert signed_in.status == 303
        yield site
    await gateway.close()


async def test_the_statement_shows_then_downloads_and_a_wrong_range_asks_nothing(portal: Web) -> None:
    gateway = portal.gateway
    assert isinstance(gateway, DocumentsGateway)
    response = await portal.client.get("/portal/statement?from=2026-01-01&to=2026-06-30")
    page = await response.text()
    assert response.status == 200, page
    assert "Invoice INV-7" in page and "€71.40" in page
    assert 'href="/portal/statement/file?from=2026-01-01&amp;to=2026-06-30&amp;format=pdf"' in page
    download = await portal.client.get("/portal/statement/file?from=2026-01-01&to=2026-06-30&format=pdf")
    assert download.status == 200 and download.content_type == "application/pdf"
    assert await download.read() == PDF and "statement.pdf" in download.headers["Content-Disposition"]
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert gateway.statement_queries[-1] == {
        "detail": "detailed",
        "format": "pdf",
        "from": "2026-01-01",
        "to": "2026-06-30",
    }
    asked = len(gateway.statement_queries)
    refused = await portal.client.get("/portal/statement/file?from=2026-06-30&to=2026-01-01&format=pdf")
    page = await refused.text()
    assert refused.status == 400 and 'id="to-error"' in page and 'aria-invalid="true"' in page
    wrong_format = await portal.client.get("/portal/statement/file?format=exe")
    assert wrong_format.status == 400 and "Choose PDF or CSV." in await wrong_format.text()
    assert len(gateway.statement_queries) == asked


async def test_an_invoice_pdf_passes_through_and_another_is_not_found(portal: Web) -> None:
    response = await portal.client.get("/portal/invoices/inv1/pdf")
    assert response.status == 200 and await response.read() == PDF
    assert response.headers["Content-Disposition"] == 'attachment; filename="INV-7.pdf"'
    assert (await portal.client.get("/portal/invoices/other/pdf")).status == 404


async def test_the_cancel_page_shows_the_terms_before_the_button(portal: Web) -> None:
    response = await portal.client.get("/portal/appointments/a1/cancel", headers={"Accept-Language": "de-DE"})
    page = await response.text()
    assert response.status == 200, page
    assert "The free cancellation period ended on" in page
    assert "A fee of 25,00\xa0€" in page and "1 session of Class pass kept" in page
    assert page.index("Cancellation terms") < page.index("Cancel this appointment</button>")
    assert re.search(r'<form method="post" action="/portal/appointments/a1/cancel"', page)
