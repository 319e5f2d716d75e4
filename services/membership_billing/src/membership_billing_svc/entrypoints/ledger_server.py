"""gRPC servicer of the entitlement ledger: proto in, command or view, proto out. Staff only, except the
balances a portal client reads of itself (any other client looks missing to it)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import grpc
from sqlalchemy.ext.asyncio import AsyncEngine

from atrium.common.v1 import types_pb2
from atrium.membership_billing.v1 import ledger_pb2 as pb
from atrium.membership_billing.v1 import ledger_pb2_grpc as pb_grpc
from membership_billing_svc import ledger_views, views
from membership_billing_svc.adapters.business_calendar import AbstractBusinessCalendar
from membership_billing_svc.domain import commands
from membership_billing_svc.domain.consumption import CheckIn, CheckInMethod, ServiceRule
from membership_billing_svc.domain.ledger import CreditType, LedgerTransaction, Lot, business_midnight
from membership_billing_svc.entrypoints.billing_server import MAX_REQUEST_ID
from membership_billing_svc.service_layer import ledger_handlers
from membership_billing_svc.service_layer.unit_of_work import BillingUnitOfWork
from platform_core.errors import InvalidArgument, NotFound
from platform_core.grpc.context import current_context
from platform_core.grpc.values import aware, record_id, reference_id, require_staff, timestamp
from platform_core.ids import parse_uuid

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["LedgerService"].full_name
MAX_REPORT_DAYS = 366


def utc_now() -> datetime:
    return datetime.now(UTC)


def client_asked_about(raw: str) -> uuid.UUID:
    """The client a call is about: a portal client only ever itself (another looks missing)."""
    principal = current_context().principal
    if principal.is_portal:
        client_id = parse_uuid(principal.client_id)
        if client_id is None or (raw and raw != principal.client_id):
            raise NotFound("client not found")
        return client_id
    require_staff()
    return reference_id(raw, "client_id", "client")


def credit_type_message(t: CreditType) -> pb.CreditType:
    return pb.CreditType(
        id=str(t.id), name=t.name, unit=t.unit, currency=t.currency or "", created_at=timestamp(t.created_at)
    )


def lot_message(lot: Lot, transaction_id: uuid.UUID | None = None) -> pb.CreditLot:
    message = pb.CreditLot(
        id=str(lot.id),
        client_id=str(lot.client_id),
        credit_type_id=str(lot.credit_type_id),
        amount=lot.amount,
        remaining=lot.remaining,
        starts_at=timestamp(lot.starts_at),
        note=lot.note,
        created_at=timestamp(lot.created_at),
        transaction_id=str(transaction_id or ""),
    )
    if lot.expires_at is not None:
        message.expires_at.CopyFrom(timestamp(lot.expires_at))
    return message


def transaction_message(t: LedgerTransaction) -> pb.LedgerTransaction:
    return pb.LedgerTransaction(
        id=str(t.id),
        kind=t.kind.value,
        client_id=str(t.client_id),
        effective_at=timestamp(t.effective_at),
        entries=[
            pb.LedgerEntry(
                lot_id=str(e.lot_id), credit_type_id=str(e.credit_type_id), account=e.account.value, amount=e.amount
            )
            for e in t.entries
        ],
        note=t.note,
        reverses_id=str(t.reverses_id or ""),
        client_change=t.client_change,
    )


def optional_date(raw: str, field: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidArgument.single(field, "must be a date, YYYY-MM-DD") from None


def optional_reference(raw: str, field: str, what: str) -> uuid.UUID | None:
    return reference_id(raw, field, what) if raw else None


def request_id_of(raw: str) -> str | None:
    if len(raw) > MAX_REQUEST_ID:
        raise InvalidArgument.single("request_id", f"must be at most {MAX_REQUEST_ID} characters")
    return raw or None


class LedgerServicer(pb_grpc.LedgerServiceServicer):
    def __init__(
        self,
        *,
        uow_factory: Callable[[], BillingUnitOfWork],
        engine: AsyncEngine,
        calendar: AbstractBusinessCalendar,
    ) -> None:
        self._uow_factory = uow_factory
        self._engine = engine
        self._calendar = calendar

    async def CreateCreditType(
        self, request: pb.CreateCreditTypeRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreditType:
        call = require_staff()
        created = await ledger_handlers.define_credit_type(
            commands.DefineCreditType(call.tenant_id, request.name, request.unit, request.currency, utc_now()),
            self._uow_factory(),
        )
        return credit_type_message(created)

    async def ListCreditTypes(
        self, request: pb.ListCreditTypesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListCreditTypesResponse:
        call = require_staff()
        found = await ledger_views.list_credit_types(self._engine, call.tenant_id)
        return pb.ListCreditTypesResponse(credit_types=[credit_type_message(t) for t in found])

    async def ChargeCredits(self, request: pb.ChargeCreditsRequest, context: grpc.aio.ServicerContext) -> pb.CreditLot:
        call = require_staff()
        cmd = commands.ChargeCredits(
            tenant_id=call.tenant_id,
            client_id=reference_id(request.client_id, "client_id", "client"),
            credit_type_id=reference_id(request.credit_type_id, "credit_type_id", "credit type"),
            amount=request.amount,
            starts_on=optional_date(request.starts_on, "starts_on"),
            expires_on=optional_date(request.expires_on, "expires_on"),
            note=request.note,
            request_id=request_id_of(request.request_id),
            now=utc_now(),
        )
        lot = await ledger_handlers.charge_credits(cmd, self._uow_factory())
        return lot_message(lot)

    async def UseCredits(
        self, request: pb.UseCreditsRequest, context: grpc.aio.ServicerContext
    ) -> pb.LedgerTransaction:
        call = require_staff()
        cmd = commands.UseCredits(
            tenant_id=call.tenant_id,
            client_id=reference_id(request.client_id, "client_id", "client"),
            credit_type_id=reference_id(request.credit_type_id, "credit_type_id", "credit type"),
            amount=request.amount,
            note=request.note,
            request_id=request_id_of(request.request_id),
            now=utc_now(),
        )
        return transaction_message(await ledger_handlers.use_credits(cmd, self._uow_factory()))

    async def ReverseUse(
        self, request: pb.ReverseUseRequest, context: grpc.aio.ServicerContext
    ) -> pb.LedgerTransaction:
        call = require_staff()
        cmd = commands.ReverseUse(
            call.tenant_id, record_id(request.transaction_id, "ledger transaction"), request.note, utc_now()
        )
        return transaction_message(await ledger_handlers.reverse_use(cmd, self._uow_factory()))

    async def GetCreditBalances(
        self, request: pb.GetCreditBalancesRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreditBalances:
        call = current_context()
        client_id = client_asked_about(request.client_id)
        as_of = aware(request.as_of) if request.HasField("as_of") else utc_now()
        balances = await ledger_views.credit_balances(self._engine, call.tenant_id, client_id, as_of)
        return pb.CreditBalances(
            client_id=str(client_id),
            as_of=timestamp(as_of),
            balances=[
                pb.CreditBalance(
                    credit_type=credit_type_message(b.credit_type),
                    balance=b.balance,
                    frozen=b.frozen,
                    available=b.available,
                    lots=[lot_message(lot) for lot in b.lots],
                )
                for b in balances
            ],
        )

    async def ListLedgerTransactions(
        self, request: pb.ListLedgerTransactionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListLedgerTransactionsResponse:
        call = require_staff()
        found, token = await ledger_views.list_transactions(
            self._engine,
            call.tenant_id,
            record_id(request.client_id, "client"),
            page_size=views.page_size_of(request.page.page_size),
            page_token=request.page.page_token,
        )
        return pb.ListLedgerTransactionsResponse(
            transactions=[transaction_message(t) for t in found], page=types_pb2.PageInfo(next_page_token=token)
        )

    # --- consumption ------------------------------------------------------------------------------------

    async def SetServiceCreditRules(
        self, request: pb.ServiceCreditRules, context: grpc.aio.ServicerContext
    ) -> pb.ServiceCreditRules:
        call = require_staff()
        service_id = reference_id(request.service_id, "service_id", "service")
        rules = await ledger_handlers.set_service_rules(
            commands.SetServiceRules(
                call.tenant_id,
                service_id,
                tuple(
                    (reference_id(r.credit_type_id, f"rules[{i}].credit_type_id", "credit type"), r.units)
                    for i, r in enumerate(request.rules)
                ),
            ),
            self._uow_factory(),
        )
        return rules_message(service_id, rules)

    async def GetServiceCreditRules(
        self, request: pb.GetServiceCreditRulesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ServiceCreditRules:
        call = require_staff()
        service_id = record_id(request.service_id, "service")
        return rules_message(service_id, await ledger_views.service_rules(self._engine, call.tenant_id, service_id))

    async def QuoteVisit(self, request: pb.QuoteVisitRequest, context: grpc.aio.ServicerContext) -> pb.VisitQuote:
        call = current_context()
        client_id = client_asked_about(request.client_id)
        service_id = reference_id(request.service_id, "service_id", "service")
        quote = await ledger_views.quote_visit(self._engine, call.tenant_id, client_id, service_id, utc_now())
        message = pb.VisitQuote(uses_credits=bool(quote.rules), covered=quote.payer is not None)
        if quote.payer is not None and quote.credit_type is not None:
            message.credit_type.CopyFrom(credit_type_message(quote.credit_type))
            message.units = quote.payer.rule.units
            for lot, units in quote.payer.plan:
                quoted = pb.QuotedLot(lot_id=str(lot.id), units=units)
                if lot.expires_at is not None:
                    quoted.expires_at.CopyFrom(timestamp(lot.expires_at))
                message.lots.append(quoted)
        return message

    async def CheckIn(self, request: pb.CheckInRequest, context: grpc.aio.ServicerContext) -> pb.CheckInRecord:
        call = require_staff()
        cmd = commands.CheckInClient(
            tenant_id=call.tenant_id,
            client_id=reference_id(request.client_id, "client_id", "client"),
            service_id=reference_id(request.service_id, "service_id", "service") if request.service_id else None,
            appointment_id=(
                reference_id(request.appointment_id, "appointment_id", "appointment")
                if request.appointment_id
                else None
            ),
            staff_id=parse_uuid(call.principal.id),
            method=(CheckInMethod.CARD if request.by_card else CheckInMethod.STAFF).value,
            note=request.note,
            now=utc_now(),
        )
        check_in, transaction = await ledger_handlers.check_in_client(cmd, self._uow_factory())
        return check_in_message(check_in, transaction)

    async def ListCheckIns(
        self, request: pb.ListCheckInsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListCheckInsResponse:
        call = require_staff()
        found, token = await ledger_views.list_check_ins(
            self._engine,
            call.tenant_id,
            record_id(request.client_id, "client"),
            page_size=views.page_size_of(request.page.page_size),
            page_token=request.page.page_token,
        )
        return pb.ListCheckInsResponse(
            check_ins=[check_in_message(c, t) for c, t in found], page=types_pb2.PageInfo(next_page_token=token)
        )

    async def CreditReport(
        self, request: pb.CreditReportRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreditReportResponse:
        call = require_staff()
        first = optional_date(request.from_day, "from_day")
        last = optional_date(request.to_day, "to_day")
        if first is None or last is None or not 0 <= (last - first).days <= MAX_REPORT_DAYS:
            raise InvalidArgument.single("to_day", f"from_day and to_day are required, at most {MAX_REPORT_DAYS} apart")
        zone = await self._calendar.timezone()
        rows = await ledger_views.credit_report(
            self._engine,
            call.tenant_id,
            business_midnight(first, zone),
            business_midnight(last + timedelta(days=1), zone),
        )
        return pb.CreditReportResponse(
            timezone=zone.key,
            rows=[
                pb.CreditReportRow(
                    credit_type=credit_type_message(r.credit_type),
                    charged=r.charged,
                    used=r.used,
                    restored=r.restored,
                    expired=r.expired,
                    clients=r.clients,
                )
                for r in rows
            ],
        )


def rules_message(service_id: uuid.UUID, rules: list[ServiceRule]) -> pb.ServiceCreditRules:
    return pb.ServiceCreditRules(
        service_id=str(service_id),
        rules=[pb.ServiceCreditRule(credit_type_id=str(r.credit_type_id), units=r.units) for r in rules],
    )


def check_in_message(check_in: CheckIn, transaction: LedgerTransaction | None) -> pb.CheckInRecord:
    message = pb.CheckInRecord(
        id=str(check_in.id),
        client_id=str(check_in.client_id),
        checked_in_at=timestamp(check_in.checked_in_at),
        service_id=str(check_in.service_id or ""),
        appointment_id=str(check_in.appointment_id or ""),
        method=check_in.method.value,
    )
    if transaction is not None:
        message.transaction.CopyFrom(transaction_message(transaction))
    return message
