"""Billing in the staff console: invoices (list by status, create a draft with its lines, change a draft, issue,
void), payments
(record against an invoice, refund) and the client's balance, all through the gateway's billing API.

Amounts are typed in the viewer's locale and sent as integer minor units of the invoice's currency.
"""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from typing import Any

from aiohttp import web
from babel.numbers import get_territory_currencies

from atrium_web.formatting import Formatter
from atrium_web.gateway_api import ApiProblem
from atrium_web.pages import flash, formatter, redirect, signed_in
from atrium_web.sessions import UserApi
from atrium_web.views.settings import FormError, amount_text, apply, minor_units
from atrium_web.views.staff import client_names, console
from platform_core.money import minor_unit_exponent

INVOICES, PAYMENTS = "/api/v1/invoices", "/api/v1/payments"
STATUSES = {
    "": "Any",
    "draft": "Draft",
    "issued": "Issued",
    "partially_paid": "Partially paid",
    "paid": "Paid",
    "void": "Void",
}
METHODS = {"card": "Card", "cash": "Cash", "bank_transfer": "Bank transfer", "other": "Other"}
LINE_ROWS = 3
MAX_LINES = 200  # the API's most lines on one invoice


@signed_in("staff")
async def invoices(request: web.Request, api: UserApi) -> web.StreamResponse:
    status = request.query.get("status", "")
    status = status if status in STATUSES else ""
    overdue = request.query.get("overdue") == "true"
    page = await api.get(
        INVOICES,
        status=status,
        overdue="true" if overdue else "",
        page_size=50,
        page_token=request.query.get("page_token", ""),
    )
    clients = await client_names(api, [i["client_id"] for i in page["items"]])
    return await console(
        request,
        api,
        "staff/billing/invoices.html",
        page=page,
        clients=clients,
        chosen_status=status,  # not ``status``: render() takes that as the HTTP status
        overdue=overdue,
        statuses=STATUSES,
    )


@signed_in("staff")
async def new_invoice(request: web.Request, api: UserApi) -> web.StreamResponse:
    client_id, q = request.query.get("client_id", ""), request.query.get("q", "").strip()
    client = dict(await api.get(f"/api/v1/clients/{client_id}")) if client_id else None
    candidates = (await api.get("/api/v1/clients", q=q, page_size=10))["items"] if q and not client else []
    business = await api.get("/api/v1/business")
    currency = (get_territory_currencies(business["country"]) or ["EUR"])[0]
    return await console(
        request,
        api,
        "staff/billing/invoice_new.html",
        client=client,
        candidates=candidates,
        q=q,
        currency=currency,
        lines=line_rows(formatter(request, api.account), None),
        editing=None,
    )


def invoice_lines(form: Any, currency: str, request: web.Request) -> list[dict[str, Any]]:
    """The filled-in line rows (a row without a description is left out); a line billing an appointment keeps
    its link."""
    lines = []
    rows = min(int(str(form.get("rows", LINE_ROWS))) if str(form.get("rows", "")).isdigit() else LINE_ROWS, MAX_LINES)
    for row in range(rows):
        description = str(form.get(f"description-{row}", "")).strip()
        if not description:
            continue
        quantity = str(form.get(f"quantity-{row}", "1")).strip() or "1"
        tax = str(form.get(f"tax-{row}", "0")).strip() or "0"
        try:
            tax_bp = round(float(tax) * 100)
        except ValueError:
            raise FormError(f"line {row + 1} tax: {tax!r} is not a percentage") from None
        line = {
            "description": description,
            "quantity": quantity,
            "unit_price_minor": minor_units(str(form.get(f"price-{row}", "")), currency, request),
            "tax_rate_bp": tax_bp,
        }
        if form.get(f"appointment-{row}"):
            line["appointment_id"] = str(form.get(f"appointment-{row}"))
        lines.append(line)
    if not lines:
        raise FormError("lines: describe at least one line")
    return lines


def line_rows(fmt: Formatter, invoice: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The form's line rows: a draft's lines as typed values, then empty rows to add more."""
    currency, lines = (invoice["currency"], invoice["lines"]) if invoice else ("", [])
    filled = [
        {
            "description": line["description"],
            "quantity": line["quantity"],
            "price": amount_text(fmt, {"amount_minor": line["unit_price_minor"], "currency": currency}),
            "tax": fmt.number(Decimal(line["tax_rate_bp"]).scaleb(-2)),
            "appointment_id": line["appointment_id"] or "",
        }
        for line in lines
    ]
    empty = {"description": "", "quantity": "1", "price": "", "tax": "0", "appointment_id": ""}
    return filled + [empty] * max(LINE_ROWS - len(filled), 1)


@signed_in("staff")
async def create_invoice(request: web.Request, api: UserApi) -> web.StreamResponse:
    form = await request.post()
    client_id = str(form.get("client_id", ""))
    currency = str(form.get("currency", "")).strip().upper()
    back = f"/billing/invoices/new?client_id={client_id}"
    try:
        body = {
            "client_id": client_id,
            "currency": currency,
            "lines": invoice_lines(form, currency, request),
            "payment_terms_days": int(str(form.get("payment_terms_days", "14")) or 14),
            "notes": str(form.get("notes", "")).strip()[:2000],
        }
        draft = await api.send("POST", INVOICES, body)
    except (FormError, ValueError) as error:
        await flash(request, f"Not saved: {error}.")
        return redirect(request, back)
    except ApiProblem as problem:
        if problem.status in (403, 404):
            raise
        named = "; ".join(f"{f}: {m}" for f, m in problem.errors.items())
        await flash(request, f"Not saved: {named or problem.detail}.")
        return redirect(request, back)
    await flash(request, "The draft invoice is saved.")
    return redirect(request, f"/billing/invoices/{draft['id']}")


@signed_in("staff")
async def edit_invoice_page(request: web.Request, api: UserApi) -> web.StreamResponse:
    """A draft's lines, terms and notes to change; an issued invoice is changed only by voiding it."""
    invoice = await api.get(f"{INVOICES}/{request.match_info['invoice_id']}")
    if invoice["status"] != "draft":
        await flash(request, "Only a draft can be changed.")
        return redirect(request, f"/billing/invoices/{invoice['id']}")
    client = (await client_names(api, [invoice["client_id"]])).get(invoice["client_id"])
    return await console(
        request,
        api,
        "staff/billing/invoice_new.html",
        client=client,
        candidates=[],
        q="",
        currency=invoice["currency"],
        lines=line_rows(formatter(request, api.account), invoice),
        editing=invoice,
    )


@signed_in("staff")
async def save_invoice(request: web.Request, api: UserApi) -> web.StreamResponse:
    """The draft's lines replaced whole, with the version read: a draft changed meanwhile is refused (409)."""
    invoice_id = request.match_info["invoice_id"]
    form = await request.post()
    currency = str(form.get("currency", "")).strip().upper()
    back = f"/billing/invoices/{invoice_id}/edit"
    try:
        body = {
            "currency": currency,
            "lines": invoice_lines(form, currency, request),
            "payment_terms_days": int(str(form.get("payment_terms_days", "14")) or 14),
            "notes": str(form.get("notes", "")).strip()[:2000],
            "version": int(str(form.get("version", "0"))),
        }
    except (FormError, ValueError) as error:
        await flash(request, f"Not saved: {error}.")
        return redirect(request, back)
    done = "The draft invoice is saved."
    return await apply(request, api, "PATCH", f"{INVOICES}/{invoice_id}", body, done, f"/billing/invoices/{invoice_id}")


@signed_in("staff")
async def invoice_page(request: web.Request, api: UserApi) -> web.StreamResponse:
    invoice = await api.get(f"{INVOICES}/{request.match_info['invoice_id']}")
    client, balance, payments = await asyncio.gather(
        client_names(api, [invoice["client_id"]]),
        api.get(f"/api/v1/clients/{invoice['client_id']}/balance"),
        api.get(PAYMENTS, client_id=invoice["client_id"], page_size=50),
    )
    paid_here = [p for p in payments["items"] if any(a["invoice_id"] == invoice["id"] for a in p["allocations"])]
    return await console(
        request,
        api,
        "staff/billing/invoice.html",
        invoice=invoice,
        client=client.get(invoice["client_id"]),
        balance=balance["currencies"],
        payments=paid_here,
        methods=METHODS,
        outstanding=Decimal(invoice["outstanding_minor"]).scaleb(-minor_unit_exponent(invoice["currency"])),
        request_key=str(uuid.uuid4()),
    )


@signed_in("staff")
async def invoice_action(request: web.Request, api: UserApi) -> web.StreamResponse:
    """Issue, void (with a reason) or record a payment against the invoice."""
    invoice_id, action = request.match_info["invoice_id"], request.match_info["action"]
    path, back = f"{INVOICES}/{invoice_id}", f"/billing/invoices/{invoice_id}"
    form = await request.post()
    if action == "issue":
        return await apply(request, api, "POST", f"{path}/issue", {}, "The invoice is issued.", back)
    if action == "void":
        reason = str(form.get("reason", "")).strip()
        return await apply(request, api, "POST", f"{path}/void", {"reason": reason}, "The invoice is void.", back)
    if action != "payment":
        raise web.HTTPNotFound()
    invoice = await api.get(path)
    try:
        amount = minor_units(str(form.get("amount", "")), invoice["currency"], request)
    except FormError as error:
        await flash(request, f"Not recorded: {error}.")
        return redirect(request, back)
    body = {
        "client_id": invoice["client_id"],
        "invoice_id": invoice_id,
        "amount": {"amount_minor": amount, "currency": invoice["currency"]},
        "method": str(form.get("method", "card")),
        "reference": str(form.get("reference", "")).strip()[:200],
    }
    try:
        key = str(form.get("request_key", "")) or str(uuid.uuid4())
        await api.send("POST", PAYMENTS, body, headers={"Idempotency-Key": key})
        await flash(request, "The payment is recorded.")
    except ApiProblem as problem:
        if problem.status in (403, 404):
            raise
        named = "; ".join(f"{f}: {m}" for f, m in problem.errors.items())
        await flash(request, f"Not recorded: {named or problem.detail}.")
    return redirect(request, back)


@signed_in("staff")
async def payments(request: web.Request, api: UserApi) -> web.StreamResponse:
    page = await api.get(PAYMENTS, page_size=50, page_token=request.query.get("page_token", ""))
    clients = await client_names(api, [p["client_id"] for p in page["items"]])
    return await console(request, api, "staff/billing/payments.html", page=page, clients=clients, methods=METHODS)


@signed_in("staff")
async def refund(request: web.Request, api: UserApi) -> web.StreamResponse:
    reason = str((await request.post()).get("reason", "")).strip()
    path = f"{PAYMENTS}/{request.match_info['payment_id']}/refund"
    return await apply(request, api, "POST", path, {"reason": reason}, "The payment is refunded.", "/billing/payments")


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/billing", invoices)
    router.add_get("/billing/invoices/new", new_invoice)
    router.add_post("/billing/invoices/new", create_invoice)
    router.add_get("/billing/invoices/{invoice_id}", invoice_page)
    router.add_get("/billing/invoices/{invoice_id}/edit", edit_invoice_page)
    router.add_post("/billing/invoices/{invoice_id}/edit", save_invoice)
    router.add_post("/billing/invoices/{invoice_id}/{action}", invoice_action)
    router.add_get("/billing/payments", payments)
    router.add_post("/billing/payments/{payment_id}/refund", refund)
