"""API keys of the business: created and revoked by owners, shown once."""

from __future__ import annotations

from aiohttp import web

from gateway.account_schemas import ApiKeyList, ApiKeyOut, CreateApiKeyBody, CreatedApiKeyOut
from gateway.api import path_id
from gateway.dependencies import API_KEYS
from gateway.identity.model import Account
from gateway.routes.registry import api
from platform_core.ids import parse_uuid

TAG = "integrations"
LIMITS = (
    "Calls made with a key are limited per key (ATRIUM_API_KEY_RATE_LIMIT) and per client IP "
    "(ATRIUM_API_KEY_IP_RATE_LIMIT) per window of ATRIUM_RATE_LIMIT_WINDOW_SECONDS: past either, 429 "
    "`RATE_LIMITED` with Retry-After."
)


@api.route(
    "GET",
    "/api/v1/api-keys",
    summary="The business's API keys (never their secrets)",
    tag=TAG,
    permission="integrations.manage",
    response=ApiKeyList,
)
async def list_api_keys(request: web.Request, account: Account) -> ApiKeyList:
    keys = await request.app[API_KEYS].list(account.tenant_id)
    return ApiKeyList(items=[ApiKeyOut.model_validate(k) for k in keys])


@api.route(
    "POST",
    "/api/v1/api-keys",
    summary="Create an API key with scopes (owners; the secret is shown once)",
    tag=TAG,
    permission="integrations.manage",
    body=CreateApiKeyBody,
    response=CreatedApiKeyOut,
    status=201,
    description="Send the secret as `Authorization: Bearer <secret>`. A call with a key acts with the key's "
    "scopes as its permissions and is attributed to the key (its id is the acting principal). " + LIMITS,
)
async def create_api_key(request: web.Request, body: CreateApiKeyBody, account: Account) -> CreatedApiKeyOut:
    created = await request.app[API_KEYS].create(account, name=body.name, scopes=body.scopes)
    return CreatedApiKeyOut.model_validate(created)


@api.route(
    "DELETE",
    "/api/v1/api-keys/{key_id}",
    summary="Revoke an API key (owners): its next call answers 401",
    tag=TAG,
    permission="integrations.manage",
    status=204,
)
async def revoke_api_key(request: web.Request, account: Account) -> None:
    key_id = parse_uuid(path_id(request, "key_id", "API key"))
    assert key_id is not None  # path_id answered 404 for anything else
    await request.app[API_KEYS].revoke(account, key_id)
