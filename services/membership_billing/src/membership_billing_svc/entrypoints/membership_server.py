"""gRPC servicer of memberships: proto in, command or view, proto out. Staff; a portal client reads its own
subscriptions (another client's look missing)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import grpc
from sqlalchemy.ext.asyncio import AsyncEngine

from atrium.membership_billing.v1 import ledger_pb2
from atrium.membership_billing.v1 import memberships_pb2 as pb
from atrium.membership_billing.v1 import memberships_pb2_grpc as pb_grpc
from membership_billing_svc import membership_views
from membership_billing_svc.adapters.membership_repository import loyalty_program, settings_of
from membership_billing_svc.domain import commands
from membership_billing_svc.domain.loyalty import LoyaltyProgram
from membership_billing_svc.domain.membership_settings import MembershipSettings
from membership_billing_svc.domain.memberships import Membership, Subscription
from membership_billing_svc.entrypoints.ledger_server import (
    client_asked_about,
    lot_message,
    optional_date,
    optional_reference,
    request_id_of,
    transaction_message,
)
from membership_billing_svc.membership_views import SubscriptionView
from membership_billing_svc.service_layer import loyalty_handlers, membership_handlers
from membership_billing_svc.service_layer.unit_of_work import BillingUnitOfWork
from platform_core.errors import NotFound
from platform_core.grpc.context import current_context
from platform_core.grpc.values import record_id, reference_id, require_staff, timestamp

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["MembershipService"].full_name


def membership_message(m: Membership) -> pb.Membership:
    return pb.Membership(
        id=str(m.id),
        name=m.name,
        package_id=str(m.package_id or ""),
        benefits=m.benefits,
        duration_count=m.duration_count,
        duration_unit=m.duration_unit.value,
        price_minor=m.price_minor,
        currency=m.currency,
        tax_rate_bp=m.tax_rate_bp,
        invoicing=m.invoicing.value,
        payment_terms_days=m.payment_terms_days,
        tolerance_days=m.tolerance_days,
        auto_renew=m.auto_renew,
        expiring_notice_days=m.expiring_notice_days,
        extras=[pb.MembershipExtra(description=e.description, price_minor=e.price_minor) for e in m.extras],
        created_at=timestamp(m.created_at),
    )


def subscription_message(view: SubscriptionView) -> pb.Subscription:
    s = view.subscription
    return pb.Subscription(
        id=str(s.id),
        client_id=str(s.client_id),
        membership_id=str(s.membership_id),
        membership_name=s.membership_name,
        starts_on=s.starts_on.isoformat(),
        expires_on=s.expires_on.isoformat(),
        tolerance_until=s.tolerance_until.isoformat(),
        status=s.status.value,
        currency=s.currency,
        price_minor=s.price_minor,
        invoice_id=str(s.invoice_id or ""),
        auto_renew=s.auto_renew,
        frozen_from=s.frozen_from.isoformat() if s.frozen_from else "",
        frozen_until=s.frozen_until.isoformat() if s.frozen_until else "",
        freeze_reason=s.freeze_reason,
        cancel_reason=s.cancel_reason,
        periods=[
            pb.SubscriptionPeriod(
                starts_on=p.starts_on.isoformat(),
                expires_on=p.expires_on.isoformat(),
                invoice_id=str(p.invoice_id or ""),
                kind=p.kind,
            )
            for p in view.periods
        ],
        credits=[lot_message(lot) for lot in view.lots],
        created_at=timestamp(s.created_at),
        updated_at=timestamp(s.updated_at),
    )


def program_message(program: LoyaltyProgram | None) -> pb.LoyaltyProgram:
    if program is None:
        return pb.LoyaltyProgram(enabled=False)
    return pb.LoyaltyProgram(
        points_credit_type_id=str(program.points_credit_type_id),
        currency=program.currency,
        step_minor=program.step_minor,
        points_per_step=program.points_per_step,
        points_per_visit=program.points_per_visit,
        validity_days=program.validity_days or 0,
        reward_credit_type_id=str(program.reward_credit_type_id or ""),
        points_per_reward_unit=program.points_per_reward_unit,
        enabled=True,
    )


def settings_message(settings: MembershipSettings) -> pb.MembershipSettings:
    return pb.MembershipSettings(clients_may_cancel=settings.clients_may_cancel)


class MembershipServicer(pb_grpc.MembershipServiceServicer):
    def __init__(
        self,
        *,
        uow_factory: Callable[[], BillingUnitOfWork],
        engine: AsyncEngine,
    ) -> None:
        self._uow_factory = uow_factory
        self._engine = engine

    async def _reply(self, subscription: Subscription) -> pb.Subscription:
        """The subscription as stored now, with its periods and credits."""
        view = await membership_views.get_subscription(self._engine, subscription.tenant_id, subscription.id)
        return subscription_message(view)

    async def CreateMembership(
        self, request: pb.CreateMembershipRequest, context: grpc.aio.ServicerContext
    ) -> pb.Membership:
        call = require_staff()
        membership = await membership_handlers.define_membership(
            commands.DefineMembership(
                tenant_id=call.tenant_id,
                name=request.name,
                package_id=optional_reference(request.package_id, "package_id", "package"),
                benefits=request.benefits,
                duration_count=request.duration_count,
                duration_unit=request.duration_unit,
                price_minor=request.price_minor,
                currency=request.currency,
                tax_rate_bp=request.tax_rate_bp,
                invoicing=request.invoicing or "auto",
                payment_terms_days=request.payment_terms_days,
                tolerance_days=request.tolerance_days,
                auto_renew=request.auto_renew,
                expiring_notice_days=request.expiring_notice_days,
                extras=tuple((e.description, e.price_minor) for e in request.extras),
                now=datetime.now(UTC),
            ),
            self._uow_factory(),
        )
        return membership_message(membership)

    async def ListMemberships(
        self, request: pb.ListMembershipsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListMembershipsResponse:
        call = require_staff()
        found = await membership_views.list_memberships(self._engine, call.tenant_id)
        return pb.ListMembershipsResponse(memberships=[membership_message(m) for m in found])

    async def Subscribe(self, request: pb.SubscribeRequest, context: grpc.aio.ServicerContext) -> pb.Subscription:
        call = require_staff()
        subscription = await membership_handlers.subscribe(
            commands.Subscribe(
                tenant_id=call.tenant_id,
                membership_id=reference_id(request.membership_id, "membership_id", "membership"),
                client_id=reference_id(request.client_id, "client_id", "client"),
                starts_on=optional_date(request.starts_on, "starts_on"),
                request_id=request_id_of(request.request_id),
                now=datetime.now(UTC),
            ),
            self._uow_factory(),
        )
        return await self._reply(subscription)

    async def GetSubscription(
        self, request: pb.GetSubscriptionRequest, context: grpc.aio.ServicerContext
    ) -> pb.Subscription:
        call = current_context()
        view = await membership_views.get_subscription(
            self._engine, call.tenant_id, record_id(request.subscription_id, "subscription")
        )
        if call.principal.is_portal:
            if str(view.subscription.client_id) != call.principal.client_id:
                raise NotFound("subscription not found")
        else:
            require_staff()
        return subscription_message(view)

    async def ListSubscriptions(
        self, request: pb.ListSubscriptionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListSubscriptionsResponse:
        call = current_context()
        client_id = client_asked_about(request.client_id)
        found = await membership_views.list_subscriptions(self._engine, call.tenant_id, client_id)
        return pb.ListSubscriptionsResponse(subscriptions=[subscription_message(v) for v in found])

    def _subscription_id(self, raw: str) -> uuid.UUID:
        return record_id(raw, "subscription")

    async def FreezeSubscription(
        self, request: pb.FreezeSubscriptionRequest, context: grpc.aio.ServicerContext
    ) -> pb.Subscription:
        call = require_staff()
        subscription = await membership_handlers.freeze_subscription(
            commands.FreezeSubscription(
                tenant_id=call.tenant_id,
                subscription_id=self._subscription_id(request.subscription_id),
                days=request.days or None,
                until=optional_date(request.until, "until"),
                reason=request.reason,
                now=datetime.now(UTC),
            ),
            self._uow_factory(),
        )
        return await self._reply(subscription)

    async def ResumeSubscription(
        self, request: pb.ResumeSubscriptionRequest, context: grpc.aio.ServicerContext
    ) -> pb.Subscription:
        call = require_staff()
        subscription = await membership_handlers.resume_subscription(
            commands.ResumeSubscription(
                call.tenant_id, self._subscription_id(request.subscription_id), datetime.now(UTC)
            ),
            self._uow_factory(),
        )
        return await self._reply(subscription)

    async def RenewSubscription(
        self, request: pb.RenewSubscriptionRequest, context: grpc.aio.ServicerContext
    ) -> pb.Subscription:
        call = require_staff()
        subscription = await membership_handlers.renew_subscription(
            commands.RenewSubscription(
                tenant_id=call.tenant_id,
                subscription_id=self._subscription_id(request.subscription_id),
                request_id=request_id_of(request.request_id),
                now=datetime.now(UTC),
            ),
            self._uow_factory(),
        )
        return await self._reply(subscription)

    async def CancelSubscription(
        self, request: pb.CancelSubscriptionRequest, context: grpc.aio.ServicerContext
    ) -> pb.Subscription:
        call = current_context()
        # A portal client cancels only its own (another's looks missing), and only if the business allows it.
        client_id = client_asked_about("") if call.principal.is_portal else None
        if client_id is None:
            require_staff()
        subscription = await membership_handlers.cancel_subscription(
            commands.CancelSubscription(
                tenant_id=call.tenant_id,
                subscription_id=self._subscription_id(request.subscription_id),
                reason=request.reason,
                cancelled_by="staff" if client_id is None else "client",
                now=datetime.now(UTC),
                client_id=client_id,
            ),
            self._uow_factory(),
        )
        return await self._reply(subscription)

    async def SetAutoRenew(self, request: pb.SetAutoRenewRequest, context: grpc.aio.ServicerContext) -> pb.Subscription:
        call = require_staff()
        subscription = await membership_handlers.set_auto_renew(
            commands.SetAutoRenew(
                call.tenant_id, self._subscription_id(request.subscription_id), request.auto_renew, datetime.now(UTC)
            ),
            self._uow_factory(),
        )
        return await self._reply(subscription)

    async def SetLoyaltyProgram(
        self, request: pb.LoyaltyProgram, context: grpc.aio.ServicerContext
    ) -> pb.LoyaltyProgram:
        call = require_staff()
        program = await loyalty_handlers.set_loyalty_program(
            commands.SetLoyaltyProgram(
                tenant_id=call.tenant_id,
                points_credit_type_id=reference_id(
                    request.points_credit_type_id, "points_credit_type_id", "credit type"
                ),
                currency=request.currency,
                step_minor=request.step_minor,
                points_per_step=request.points_per_step,
                points_per_visit=request.points_per_visit,
                validity_days=request.validity_days or None,
                reward_credit_type_id=optional_reference(
                    request.reward_credit_type_id, "reward_credit_type_id", "credit type"
                ),
                points_per_reward_unit=request.points_per_reward_unit,
                now=datetime.now(UTC),
            ),
            self._uow_factory(),
        )
        return program_message(program)

    async def GetLoyaltyProgram(
        self, request: pb.GetLoyaltyProgramRequest, context: grpc.aio.ServicerContext
    ) -> pb.LoyaltyProgram:
        call = require_staff()
        async with self._engine.connect() as conn:
            return program_message(await loyalty_program(conn, call.tenant_id))

    async def SetMembershipSettings(
        self, request: pb.MembershipSettings, context: grpc.aio.ServicerContext
    ) -> pb.MembershipSettings:
        call = require_staff()
        settings = await membership_handlers.set_membership_settings(
            commands.SetMembershipSettings(call.tenant_id, request.clients_may_cancel, datetime.now(UTC)),
            self._uow_factory(),
        )
        return settings_message(settings)

    async def GetMembershipSettings(
        self, request: pb.GetMembershipSettingsRequest, context: grpc.aio.ServicerContext
    ) -> pb.MembershipSettings:
        # Staff, and portal clients (the portal shows the cancel action only when it is allowed).
        call = current_context()
        if not call.principal.is_portal:
            require_staff()
        async with self._engine.connect() as conn:
            return settings_message(await settings_of(conn, call.tenant_id))

    async def RedeemPoints(
        self, request: pb.RedeemPointsRequest, context: grpc.aio.ServicerContext
    ) -> ledger_pb2.LedgerTransaction:
        call = require_staff()
        transaction = await loyalty_handlers.redeem_points(
            commands.RedeemPoints(
                tenant_id=call.tenant_id,
                client_id=reference_id(request.client_id, "client_id", "client"),
                points=request.points,
                request_id=request_id_of(request.request_id),
                now=datetime.now(UTC),
            ),
            self._uow_factory(),
        )
        return transaction_message(transaction)
