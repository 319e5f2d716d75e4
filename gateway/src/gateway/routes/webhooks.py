"""Webhook endpoints of the business: subscribe, change, disable, delete, see deliveries, test-send."""

from __future__ import annotations

import uuid

from aiohttp import web

from gateway.account_schemas import (
    ChangeWebhookEndpointBody,
    CreatedWebhookEndpointOut,
    CreateWebhookEndpointBody,
    WebhookDeliveryList,
    WebhookDeliveryOut,
    WebhookEndpointList,
    WebhookEndpointOut,
    WebhookEventTypes,
)
from gateway.api import path_id
from gateway.dependencies import WEBHOOKS
from gateway.identity.model import Account
from gateway.routes.registry import api
from gateway.webhooks.catalogue import EVENT_TYPES
from platform_core.ids import parse_uuid

TAG = "integrations"
PERMISSION = "integrations.manage"
HOW_SIGNED = (
    "Each delivery is a POST of JSON {id, type, timestamp, business_id, data} signed per Standard Webhooks: "
    "`webhook-id` (the event id, the same on every retry: deduplicate by it), `webhook-timestamp` and "
    "`webhook-signature` (v1, HMAC-SHA256 of `id.timestamp.body` with the endpoint's secret). A 2xx answer "
    "is success; anything else is retried after growing delays (ATRIUM_WEBHOOK_RETRY_DELAYS_SECONDS); when "
    "every attempt of a delivery has failed the endpoint is disabled and the owners are told."
)


def _endpoint_id(request: web.Request) -> uuid.UUID:
    endpoint_id = parse_uuid(path_id(request, "endpoint_id", "webhook endpoint"))
    assert endpoint_id is not None  # path_id answered 404 for anything else
    return endpoint_id


@api.route(
    "GET",
    "/api/v1/webhook-event-types",
    summary="The event types a webhook endpoint may subscribe to",
    tag=TAG,
    permission=PERMISSION,
    response=WebhookEventTypes,
)
async def list_webhook_event_types(request: web.Request, account: Account) -> WebhookEventTypes:
    return WebhookEventTypes(items=list(EVENT_TYPES))


@api.route(
    "POST",
    "/api/v1/webhook-endpoints",
    summary="Subscribe an HTTPS endpoint to event types (the signing secret is shown once)",
    tag=TAG,
    permission=PERMISSION,
    body=CreateWebhookEndpointBody,
    response=CreatedWebhookEndpointOut,
    status=201,
    description=HOW_SIGNED,
)
async def create_webhook_endpoint(
    request: web.Request, body: CreateWebhookEndpointBody, account: Account
) -> CreatedWebhookEndpointOut:
    created = await request.app[WEBHOOKS].create(
        account.tenant_id, url=body.url, event_types=body.event_types, description=body.description
    )
    return CreatedWebhookEndpointOut.model_validate(created)


@api.route(
    "GET",
    "/api/v1/webhook-endpoints",
    summary="The business's webhook endpoints",
    tag=TAG,
    permission=PERMISSION,
    response=WebhookEndpointList,
)
async def list_webhook_endpoints(request: web.Request, account: Account) -> WebhookEndpointList:
    endpoints = await request.app[WEBHOOKS].all_of(account.tenant_id)
    return WebhookEndpointList(items=[WebhookEndpointOut.model_validate(e) for e in endpoints])


@api.route(
    "GET",
    "/api/v1/webhook-endpoints/{endpoint_id}",
    summary="One webhook endpoint",
    tag=TAG,
    permission=PERMISSION,
    response=WebhookEndpointOut,
)
async def get_webhook_endpoint(request: web.Request, account: Account) -> WebhookEndpointOut:
    endpoint = await request.app[WEBHOOKS].get(account.tenant_id, _endpoint_id(request))
    return WebhookEndpointOut.model_validate(endpoint)


@api.route(
    "PATCH",
    "/api/v1/webhook-endpoints/{endpoint_id}",
    summary="Change a webhook endpoint, or disable or re-enable it",
    tag=TAG,
    permission=PERMISSION,
    body=ChangeWebhookEndpointBody,
    response=WebhookEndpointOut,
    description="Re-enabling resumes its pending deliveries and resets its failure count.",
)
async def change_webhook_endpoint(
    request: web.Request, body: ChangeWebhookEndpointBody, account: Account
) -> WebhookEndpointOut:
    endpoint = await request.app[WEBHOOKS].change(
        account.tenant_id,
        _endpoint_id(request),
        url=body.url,
        event_types=body.event_types,
        description=body.description,
        enabled=body.enabled,
    )
    return WebhookEndpointOut.model_validate(endpoint)


@api.route(
    "DELETE",
    "/api/v1/webhook-endpoints/{endpoint_id}",
    summary="Delete a webhook endpoint and its delivery log",
    tag=TAG,
    permission=PERMISSION,
    status=204,
)
async def delete_webhook_endpoint(request: web.Request, account: Account) -> None:
    await request.app[WEBHOOKS].delete(account.tenant_id, _endpoint_id(request))


@api.route(
    "GET",
    "/api/v1/webhook-endpoints/{endpoint_id}/deliveries",
    summary="The endpoint's latest 50 deliveries, newest first, with every attempt and its answer",
    tag=TAG,
    permission=PERMISSION,
    response=WebhookDeliveryList,
)
async def list_webhook_deliveries(request: web.Request, account: Account) -> WebhookDeliveryList:
    deliveries = await request.app[WEBHOOKS].deliveries(account.tenant_id, _endpoint_id(request))
    return WebhookDeliveryList(items=[WebhookDeliveryOut.model_validate(d) for d in deliveries])


@api.route(
    "POST",
    "/api/v1/webhook-endpoints/{endpoint_id}/test",
    summary="Send the endpoint a WebhookTest event (queued; see its deliveries)",
    tag=TAG,
    permission=PERMISSION,
    response=WebhookDeliveryOut,
    status=202,
)
async def send_webhook_test(request: web.Request, account: Account) -> WebhookDeliveryOut:
    delivery = await request.app[WEBHOOKS].send_test(account.tenant_id, _endpoint_id(request))
    return WebhookDeliveryOut.model_validate(delivery)
