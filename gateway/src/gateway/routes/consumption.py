"""Routes of consumption: which credits pay for a service, which would pay for a visit now (staff and the
portal, before a booking is confirmed), and check-ins (attendance, consuming what pays for the visit)."""

from __future__ import annotations

from aiohttp import web

from atrium.membership_billing.v1 import ledger_pb2 as pb
from gateway.api import path_id
from gateway.credits_schemas import (
    CheckInIn,
    CheckInOut,
    QuotedLotOut,
    QuoteQuery,
    ServiceRuleOut,
    ServiceRulesIn,
    ServiceRulesOut,
    VisitQuoteOut,
)
from gateway.dependencies import BACKENDS
from gateway.identity.model import Account
from gateway.routes.clients import client_id_of
from gateway.routes.credits import TAG, credit_type_out, transaction_out
from gateway.routes.portal import require_portal_view
from gateway.routes.registry import api
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
    roles=("owner", "admin"),
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
)
async def client_quote(request: web.Request, query: QuoteQuery, account: Account) -> VisitQuoteOut:
    reply = await request.app[BACKENDS].ledger.QuoteVisit(
        pb.QuoteVisitRequest(client_id=client_id_of(request), service_id=query.service_id)
    )
    return quote_out(reply)


@api.route(
    "GET",
    "/api/v1/portal/credit-quote",
    summary="Which of the signed-in client's credits would pay for a visit of a service now",
    tag="portal",
    auth="portal",
    query=QuoteQuery,
    response=VisitQuoteOut,
    description="Shown when the business lets clients view their invoices in the portal.",
)
async def portal_quote(request: web.Request, query: QuoteQuery, account: Account) -> VisitQuoteOut:
    await require_portal_view(request, account, "view_invoices")
    reply = await request.app[BACKENDS].ledger.QuoteVisit(pb.QuoteVisitRequest(service_id=query.service_id))
    return quote_out(reply)


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
    return CheckInOut(
        id=reply.id,
        client_id=reply.client_id,
        checked_in_at=aware(reply.checked_in_at),
        service_id=reply.service_id or None,
        appointment_id=reply.appointment_id or None,
        method=reply.method,
        transaction=transaction_out(reply.transaction) if reply.HasField("transaction") else None,
    )
