"""Billing events in: the repeat-offender rule's "requests need approval" outcome, kept per client."""

from __future__ import annotations

from atrium.membership_billing.v1 import events_pb2 as billing_events
from platform_core.messaging.consumer import Subscription
from portal_requests_svc.adapters.approval_requirements import client_requests_need_approval


def billing_subscriptions() -> list[Subscription]:
    return [Subscription(billing_events.ClientRequestsNeedApproval, client_requests_need_approval)]
