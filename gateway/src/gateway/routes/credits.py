"""Routes of the credits ledger: credit types, charges, uses and their reversal, balances (as of a moment)
and history for staff; the client's own balances in the portal. The billing service's LedgerService is
behind them; responses are built through their declared models."""

from __future__ import annotations

from aiohttp import web

from atrium.common.v1 import types_pb2
from atrium.membership_billing.v1 import ledger_pb2 as pb
from gateway import idempotency
from gateway.api import path_id
from gateway.credits_schemas import (
    BalanceQuery,
    ChargeIn,
    CreditBalanceOut,
    CreditBalancesOut,
    CreditTypeIn,
    CreditTypeList,
    CreditTypeOut,
    EntryOut,
    LotOut,
    ReverseIn,
    TransactionList,
    TransactionOut,
    TransactionQuery,
    UseIn,
)
from gateway.dependencies import BACKENDS
from gateway.identity.model import Account
from gateway.routes.clients import client_id_of
from gateway.routes.portal import require_portal_view
from gateway.routes.registry import api
from platform_core.grpc.values import aware, timestamp

TAG = "credits"


def credit_type_out(t: pb.CreditType) -> CreditTypeOut:
    return CreditTypeOut(id=t.id, name=t.name, unit=t.unit, currency=t.currency or None, created_at=aware(t.created_at))


def lot_out(lot: pb.CreditLot) -> LotOut:
    return LotOut(
        id=lot.id,
        client_id=lot.client_id,
        credit_type_id=lot.credit_type_id,
        amount=lot.amount,
        remaining=lot.remaining,
        starts_at=aware(lot.starts_at),
        expires_at=aware(lot.expires_at) if lot.HasField("expires_at") else None,
        note=lot.note,
        created_at=aware(lot.created_at),
    )


def transaction_out(t: pb.LedgerTransaction) -> TransactionOut:
    return TransactionOut(
        id=t.id,
        kind=t.kind,
        client_id=t.client_id,
        effective_at=aware(t.effective_at),
        client_change=t.client_change,
        entries=[
            EntryOut(lot_id=e.lot_id, credit_type_id=e.credit_type_id, account=e.account, amount=e.amount)
            for e in t.entries
        ],
        note=t.note,
        reverses_id=t.reverses_id or None,
    )


def balances_out(reply: pb.CreditBalances) -> CreditBalancesOut:
    return CreditBalancesOut(
        client_id=reply.client_id,
        as_of=aware(reply.as_of),
        balances=[
            CreditBalanceOut(
                credit_type=credit_type_out(b.credit_type),
                balance=b.balance,
                frozen=b.frozen,
                available=b.available,
                lots=[lot_out(x) for x in b.lots],
            )
            for b in reply.balances
        ],
    )


def idempotency_key(request: web.Request) -> str:
    key = idempotency.request_key(request)
    return key


@api.route(
    "POST",
    "/api/v1/credit-types",
    summary="Define a credit type (sessions, minutes, points, money on account...)",
    tag=TAG,
    body=CreditTypeIn,
    response=CreditTypeOut,
    status=201,
    permission="settings.manage",
    errors=(409,),
    description="409 CREDIT_TYPE_EXISTS when the business has a type of that name (case-insensitive).",
)
async def create_credit_type(request: web.Request, body: CreditTypeIn, account: Account) -> CreditTypeOut:
    reply = await request.app[BACKENDS].ledger.CreateCreditType(
        pb.CreateCreditTypeRequest(name=body.name, unit=body.unit, currency=body.currency)
    )
    return credit_type_out(reply)


@api.route(
    "GET",
    "/api/v1/credit-types",
    summary="The business's credit types",
    tag=TAG,
    permission="memberships.read",
    response=CreditTypeList,
)
async def list_credit_types(request: web.Request, account: Account) -> CreditTypeList:
    reply = await request.app[BACKENDS].ledger.ListCreditTypes(pb.ListCreditTypesRequest())
    return CreditTypeList(items=[credit_type_out(t) for t in reply.credit_types])


@api.route(
    "POST",
    "/api/v1/clients/{client_id}/credits/charges",
    summary="Charge a client with credits: an amount of a credit type, valid from a day to a day",
    tag=TAG,
    body=ChargeIn,
    response=LotOut,
    status=201,
    errors=(409,),
    description=(
        "Days are the business's (its timezone): the credits expire at the midnight that ends `expires_on`."
        " An Idempotency-Key header makes retries safe: the same key returns the first charge."
    ),
    permission="memberships.write",
)
async def charge_credits(request: web.Request, body: ChargeIn, account: Account) -> LotOut:
    reply = await request.app[BACKENDS].ledger.ChargeCredits(
        pb.ChargeCreditsRequest(
            client_id=client_id_of(request),
            credit_type_id=body.credit_type_id,
            amount=body.amount,
            starts_on=body.starts_on.isoformat() if body.starts_on else "",
            expires_on=body.expires_on.isoformat() if body.expires_on else "",
            note=body.note,
            request_id=idempotency_key(request),
        )
    )
    return lot_out(reply)


@api.route(
    "POST",
    "/api/v1/clients/{client_id}/credits/uses",
    summary="Use a client's credits: taken from what expires first, all or nothing",
    tag=TAG,
    body=UseIn,
    response=TransactionOut,
    status=201,
    errors=(409,),
    description=(
        "409 INSUFFICIENT_CREDITS when the client does not hold enough usable credits now (of two uses racing"
        " for the last unit, exactly one succeeds). An Idempotency-Key header returns the first use on a retry."
    ),
    permission="memberships.write",
)
async def use_credits(request: web.Request, body: UseIn, account: Account) -> TransactionOut:
    reply = await request.app[BACKENDS].ledger.UseCredits(
        pb.UseCreditsRequest(
            client_id=client_id_of(request),
            credit_type_id=body.credit_type_id,
            amount=body.amount,
            note=body.note,
            request_id=idempotency_key(request),
        )
    )
    return transaction_out(reply)


@api.route(
    "POST",
    "/api/v1/credit-transactions/{transaction_id}/reverse",
    summary="Give a use back to the credits it took from (once)",
    tag=TAG,
    body=ReverseIn,
    response=TransactionOut,
    status=201,
    errors=(409,),
    description=(
        "409 ALREADY_REVERSED the second time; 409 NOT_A_USE for any other transaction; 409 CREDITS_EXPIRED"
        " when everything it took has expired since (what expired is not given back)."
    ),
    permission="memberships.write",
)
async def reverse_use(request: web.Request, body: ReverseIn, account: Account) -> TransactionOut:
    reply = await request.app[BACKENDS].ledger.ReverseUse(
        pb.ReverseUseRequest(transaction_id=path_id(request, "transaction_id", "ledger transaction"), note=body.note)
    )
    return transaction_out(reply)


def _balances_request(client_id: str, query: BalanceQuery) -> pb.GetCreditBalancesRequest:
    message = pb.GetCreditBalancesRequest(client_id=client_id)
    if query.as_of is not None:
        message.as_of.CopyFrom(timestamp(query.as_of))
    return message


@api.route(
    "GET",
    "/api/v1/clients/{client_id}/credits",
    summary="What a client holds of each credit type (now, or as of a moment), with the lots holding it",
    tag=TAG,
    query=BalanceQuery,
    response=CreditBalancesOut,
    permission="memberships.read",
)
async def client_credits(request: web.Request, query: BalanceQuery, account: Account) -> CreditBalancesOut:
    reply = await request.app[BACKENDS].ledger.GetCreditBalances(_balances_request(client_id_of(request), query))
    return balances_out(reply)


@api.route(
    "GET",
    "/api/v1/clients/{client_id}/credits/transactions",
    summary="A client's credit history (charges, uses, expiries, reversals), newest first",
    tag=TAG,
    query=TransactionQuery,
    response=TransactionList,
    permission="memberships.read",
)
async def client_credit_history(request: web.Request, query: TransactionQuery, account: Account) -> TransactionList:
    reply = await request.app[BACKENDS].ledger.ListLedgerTransactions(
        pb.ListLedgerTransactionsRequest(
            client_id=client_id_of(request),
            page=types_pb2.PageRequest(page_size=query.page_size, page_token=query.page_token),
        )
    )
    return TransactionList(
        items=[transaction_out(t) for t in reply.transactions], next_page_token=reply.page.next_page_token or None
    )


@api.route(
    "GET",
    "/api/v1/portal/credits",
    summary="The signed-in client's credits: what it holds of each type and when each part expires",
    tag="portal",
    auth="portal",
    query=BalanceQuery,
    response=CreditBalancesOut,
    description="Shown when the business lets clients view their invoices in the portal.",
)
async def portal_credits(request: web.Request, query: BalanceQuery, account: Account) -> CreditBalancesOut:
    await require_portal_view(request, account, "view_invoices")
    reply = await request.app[BACKENDS].ledger.GetCreditBalances(_balances_request("", query))
    return balances_out(reply)
