"""Routes of consumption: which credits pay for a service, which would pay for a visit now (staff and the
portal, before a booking is confirmed), check-ins (attendance, consuming what pays for the visit) and the
membership card whose signed token checks the client in."""

from __future__ import annotations

import uuid

from aiohttp import web

from atrium.client.v1 import client_service_pb2 as client_pb
from atrium.common.v1 import types_pb2
from atrium.membership_billing.v1 import ledger_pb2 as pb
from gateway.api import path_id
from gateway.card_tokens import CardTokens
from gateway.credits_schemas import (
    CardCheckInIn,
    CardOut,
    CheckInIn,
    CheckInList,
    CheckInOut,
    CheckInQuery,
    QuotedLotOut,
    QuoteQuery,
    ServiceRuleOut,
    ServiceRulesIn,
    ServiceRulesOut,
    VisitQuoteOut,
)
from gateway.dependencies import BACKENDS, SETTINGS
from gateway.identity.model import Account
from gateway.routes.cancellation_policy import quote_for_booking
from gateway.routes.clients import client_id_of
from gateway.routes.credits import TAG, credit_type_out, transaction_out
from gateway.routes.portal import require_portal_view
from gateway.routes.registry import api
from platform_core.errors import NotFound
from platform_core.grpc.values import aware


def rules_out(reply: pb.ServiceCreditRules) -> ServiceRulesOut:
    return ServiceRulesOut(
        service_id=reply.service_id,
        rules=[ServiceRuleOut(credit_type_id=r.credit_type_id, units=r.units) for r in reply.rules],
    )


def quote_out(reply: pb.VisitQuote) -> VisitQuoteOut:
    return VisitQuoteOut(
        uses_credits=reply.uses_credits,
        covered=reply.covered,
        credit_type=credit_type_out(reply.credit_type) if reply.HasField("credit_type") else None,
        units=reply.units,
        lots=[
            QuotedLotOut(
                lot_id=x.lot_id,
                units=x.units,
                expires_at=aware(x.expires_at) if x.HasField("expires_at") else None,
            )
            for x in reply.lots
        ],
    )


def service_id_of(request: web.Request) -> str:
    return path_id(request, "service_id", "service")


@api.route(
    "PUT",
    "/api/v1/services/{service_id}/credit-rules",
    summary="Set which credit types pay for a visit of a service, and how many units",
    tag=TAG,
    body=ServiceRulesIn,
    response=ServiceRulesOut,
    permission="settings.manage",
    description="Of the types that pay, a visit takes from the one whose usable credits expire first.",
)
async def put_service_rules(request: web.Request, body: ServiceRulesIn, account: Account) -> ServiceRulesOut:
    reply = await request.app[BACKENDS].ledger.SetServiceCreditRules(
        pb.ServiceCreditRules(
            service_id=service_id_of(request),
            rules=[pb.ServiceCreditRule(credit_type_id=r.credit_type_id, units=r.units) for r in body.rules],
        )
    )
    return rules_out(reply)


@api.route(
    "GET",
    "/api/v1/services/{service_id}/credit-rules",
    summary="Which credit types pay for a visit of a service",
    tag=TAG,
    response=ServiceRulesOut,
    permission="memberships.read",
)
async def get_service_rules(request: web.Request, account: Account) -> ServiceRulesOut:
    reply = await request.app[BACKENDS].ledger.GetServiceCreditRules(
        pb.GetServiceCreditRulesRequest(service_id=service_id_of(request))
    )
    return rules_out(reply)


@api.route(
    "GET",
    "/api/v1/clients/{client_id}/credit-quote",
    summary="Which of the client's credits would pay for a visit of a service now",
    tag=TAG,
    query=QuoteQuery,
    response=VisitQuoteOut,
    permission="memberships.read",
)
async def client_quote(request: web.Request, query: QuoteQuery, account: Account) -> VisitQuoteOut:
    client_id = client_id_of(request)
    reply = await request.app[BACKENDS].ledger.QuoteVisit(
        pb.QuoteVisitRequest(client_id=client_id, service_id=query.service_id)
    )
    quote = quote_out(reply)
    if query.start is not None:
        quote.cancellation = await quote_for_booking(request, client_id, query.service_id, query.start)
    return quote


@api.route(
    "GET",
    "/api/v1/portal/credit-quote",
    summary="Which of the signed-in client's credits would pay for a visit of a service now",
    tag="portal",
    auth="portal",
    query=QuoteQuery,
    response=VisitQuoteOut,
    description="Shown when the business lets clients view their invoices in the portal; with `start`, also"
    " the cancellation terms of booking it then.",
)
async def portal_quote(request: web.Request, query: QuoteQuery, account: Account) -> VisitQuoteOut:
    await require_portal_view(request, account, "view_invoices")
    reply = await request.app[BACKENDS].ledger.QuoteVisit(pb.QuoteVisitRequest(service_id=query.service_id))
    quote = quote_out(reply)
    if query.start is not None:
        quote.cancellation = await quote_for_booking(request, "", query.service_id, query.start)
    return quote


@api.route(
    "POST",
    "/api/v1/clients/{client_id}/check-ins",
    summary="Check a client in: attendance, with or without an appointment; a service's visit takes its credits",
    tag=TAG,
    body=CheckInIn,
    response=CheckInOut,
    status=201,
    errors=(409,),
    description=(
        "409 INSUFFICIENT_CREDITS when the service takes credits and the client holds too few (nothing is"
        " recorded); 409 ALREADY_CHECKED_IN for an appointment checked in before. An appointment's visit is"
        " consumed once: its completion then takes nothing more."
    ),
    permission="memberships.write",
    # The client's record stays as it was (the check-in is a record of its own, the entry's "after"): reading
    # the client card as the "before" of every check-in was one more hop to the client service.
    audit_before=False,
)
async def check_in(request: web.Request, body: CheckInIn, account: Account) -> CheckInOut:
    reply = await request.app[BACKENDS].ledger.CheckIn(
        pb.CheckInRequest(
            client_id=client_id_of(request),
            service_id=body.service_id or "",
            appointment_id=body.appointment_id or "",
            note=body.note,
        )
    )
    return check_in_out(reply)


def check_in_out(reply: pb.CheckInRecord) -> CheckInOut:
    return CheckInOut(
        id=reply.id,
        client_id=reply.client_id,
        checked_in_at=aware(reply.checked_in_at),
        service_id=reply.service_id or None,
        appointment_id=reply.appointment_id or None,
        method=reply.method,
        transaction=transaction_out(reply.transaction) if reply.HasField("transaction") else None,
    )


def card_tokens(request: web.Request) -> CardTokens:
    return CardTokens(request.app[SETTINGS].jwt_secret.get_secret_value())


@api.route(
    "GET",
    "/api/v1/clients/{client_id}/membership-card",
    summary="A client's membership card token (what its QR code carries)",
    tag=TAG,
    response=CardOut,
    permission="memberships.read",
)
async def membership_card(request: web.Request, account: Account) -> CardOut:
    # A client of this business (another's answers 404; a merged-away id, its survivor's card).
    client = await request.app[BACKENDS].clients.GetClient(client_pb.GetClientRequest(id=client_id_of(request)))
    return CardOut(client_id=client.id, token=card_tokens(request).issue(account.tenant_id, uuid.UUID(client.id)))


@api.route(
    "GET",
    "/api/v1/portal/membership-card",
    summary="The signed-in client's membership card token, to show at the desk as a QR code",
    tag="portal",
    auth="portal",
    response=CardOut,
)
async def portal_membership_card(request: web.Request, account: Account) -> CardOut:
    assert account.client_id is not None
    token = card_tokens(request).issue(account.tenant_id, account.client_id)
    return CardOut(client_id=str(account.client_id), token=token)


@api.route(
    "POST",
    "/api/v1/check-ins/card",
    summary="Check a client in by scanning its membership card",
    tag=TAG,
    body=CardCheckInIn,
    response=CheckInOut,
    status=201,
    errors=(404, 409),
    description=(
        "422 naming `token` for anything that is not a genuine card; a card of another business answers 404."
        " With a service, the visit takes what pays for it (409 INSUFFICIENT_CREDITS)."
    ),
    permission="memberships.write",
)
async def membership_card_check_in(request: web.Request, body: CardCheckInIn, account: Account) -> CheckInOut:
    tenant_id, client_id = card_tokens(request).verify(body.token)
    if tenant_id != account.tenant_id:
        raise NotFound("client not found")
    reply = await request.app[BACKENDS].ledger.CheckIn(
        pb.CheckInRequest(client_id=str(client_id), service_id=body.service_id or "", note=body.note, by_card=True)
    )
    return check_in_out(reply)


@api.route(
    "GET",
    "/api/v1/clients/{client_id}/check-ins",
    summary="A client's attendance log, newest first, with what each visit consumed",
    tag=TAG,
    query=CheckInQuery,
    response=CheckInList,
    permission="memberships.read",
)
async def list_check_ins(request: web.Request, query: CheckInQuery, account: Account) -> CheckInList:
    reply = await request.app[BACKENDS].ledger.ListCheckIns(
        pb.ListCheckInsRequest(
            client_id=client_id_of(request),
            page=types_pb2.PageRequest(page_size=query.page_size, page_token=query.page_token),
        )
    )
    return CheckInList(
        items=[check_in_out(c) for c in reply.check_ins], next_page_token=reply.page.next_page_token or None
    )
