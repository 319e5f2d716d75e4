"""Staff routes over clients; backed by the client and notification services."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web
from google.protobuf import json_format, struct_pb2

from atrium.client.v1 import client_record_pb2 as record_pb
from atrium.client.v1 import client_service_pb2 as client_pb
from atrium.common.v1 import types_pb2
from atrium.notification.v1 import notification_service_pb2 as notification_pb
from gateway import idempotency
from gateway.api import path_id
from gateway.dependencies import BACKENDS, IDENTITY, SETTINGS
from gateway.identity.model import Account
from gateway.instants import when
from gateway.routes.notifications import message_json
from gateway.routes.registry import api
from gateway.schemas import (
    ActivityPage,
    ClientFilters,
    ClientListQuery,
    ClientOut,
    ClientPage,
    ClientStaffBody,
    ClientTagsBody,
    CreateClientBody,
    DuplicatePairs,
    DuplicatesQuery,
    OnlineBookingBlockBody,
    PageQuery,
    PortalInvitationBody,
    PortalInvitationOut,
    ProfileIn,
    UpdateClientBody,
)
from platform_core.errors import FieldViolation, InvalidArgument
from platform_core.ids import parse_uuid


def client_json(client: client_pb.Client) -> dict[str, Any]:
    return {
        "id": client.id,
        "first_name": client.first_name,
        "last_name": client.last_name,
        "email": client.email or None,
        "phone": client.phone or None,
        "created_at": when(client.created_at),
        "updated_at": when(client.updated_at),
        "online_booking_blocked": client.online_booking_blocked,
        "online_booking_blocked_until": (
            when(client.online_booking_blocked_until) if client.HasField("online_booking_blocked_until") else None
        ),
        "deleted_at": when(client.deleted_at) if client.HasField("deleted_at") else None,
        "version": client.version,
        "status_id": client.status_id or None,
        "status_label": client.status_label or None,
        "assigned_staff_ids": list(client.assigned_staff_ids),
        "group_staff_ids": list(client.group_staff_ids),
        "tags": list(client.tags),
        "profile": profile_json(client.profile),
        "emails": [{"value": p.value, "label": p.label or "other", "primary": p.primary} for p in client.emails],
        "phones": [{"value": p.value, "label": p.label or "other", "primary": p.primary} for p in client.phones],
        "contact_persons": [
            {"name": p.name, "role": p.role, "email": p.email or None, "phone": p.phone or None}
            for p in client.contact_persons
        ],
        "custom_fields": {key: json_value(value) for key, value in client.custom_fields.items()},
        "merged_from": client.merged_from or None,
        "erased_at": when(client.erased_at) if client.HasField("erased_at") else None,
    }


def json_value(value: struct_pb2.Value) -> Any:
    """A protobuf Value as JSON, whole numbers as integers (protobuf carries every number as a double).

    A scalar (what almost every custom value is) is read straight from its field; lists, objects and numbers
    JSON cannot hold go through json_format, which writes (or refuses) them."""
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    if kind is None or kind == "null_value":
        return None
    if kind == "number_value" and math.isfinite(number := value.number_value):
        return int(number) if number.is_integer() else number
    plain = json_format.MessageToDict(value)
    if isinstance(plain, float) and plain.is_integer():
        return int(plain)
    return plain


def contact_lists(body: CreateClientBody | UpdateClientBody) -> dict[str, Any]:
    """The contact lists and custom values of a create or change body, as request fields (absent stay absent)."""
    fields: dict[str, Any] = {}
    for name in ("emails", "phones"):
        items = getattr(body, name)
        if items is not None:
            fields[name] = record_pb.ContactPoints(items=[record_pb.ContactPoint(**p.model_dump()) for p in items])
    if body.contact_persons is not None:
        fields["contact_persons"] = record_pb.ContactPersons(
            items=[record_pb.ContactPerson(**p.model_dump()) for p in body.contact_persons]
        )
    if body.custom_fields is not None:
        fields["custom_fields"] = custom_values(body.custom_fields)
    return fields


def custom_values(values: dict[str, Any]) -> dict[str, struct_pb2.Value]:
    return {key: json_format.ParseDict(value, struct_pb2.Value()) for key, value in values.items()}


def profile_json(profile: client_pb.ClientProfile) -> dict[str, Any]:
    a = profile.address
    return {
        "kind": profile.kind or "individual",
        "company_name": profile.company_name,
        "address": {
            "line1": a.line1,
            "line2": a.line2,
            "city": a.city,
            "region": a.region,
            "postal_code": a.postal_code,
            "country": a.country,
        },
        "date_of_birth": profile.date_of_birth or None,
        "preferred_language": profile.preferred_language,
        "timezone": profile.timezone,
        "source": profile.source,
        "default_invoicing_method": profile.default_invoicing_method,
        "opening_balance": (
            {"amount_minor": profile.opening_balance.amount_minor, "currency": profile.opening_balance.currency}
            if profile.HasField("opening_balance")
            else None
        ),
    }


def profile_message(profile: ProfileIn) -> client_pb.ClientProfile:
    message = client_pb.ClientProfile(
        kind=profile.kind,
        company_name=profile.company_name,
        address=client_pb.PostalAddress(**profile.address.model_dump()),
        date_of_birth=profile.date_of_birth.isoformat() if profile.date_of_birth else "",
        preferred_language=profile.preferred_language,
        timezone=profile.timezone,
        source=profile.source,
        default_invoicing_method=profile.default_invoicing_method,
    )
    if profile.opening_balance is not None:
        message.opening_balance.amount_minor = profile.opening_balance.amount_minor
        message.opening_balance.currency = profile.opening_balance.currency
    return message


def list_request(
    filters: ClientFilters, account: Account, *, page_size: int, page_token: str = "", sort: str = ""
) -> client_pb.ListClientsRequest:
    """The list's filters as the client service takes them (the export sends the same)."""
    return client_pb.ListClientsRequest(
        page=types_pb2.PageRequest(page_size=page_size, page_token=page_token),
        sort=sort,
        include_deleted=filters.include_deleted,
        only_deleted=filters.only_deleted,
        online_booking_blocked=filters.blocked,
        status_id=filters.status_id,
        query=filters.q,
        default_region=account.country,
        assigned_staff_id=str(account.id) if filters.assigned_to == "me" else filters.assigned_to,
        tag=filters.tag,
        group_id=filters.group_id,
    )


T = TypeVar("T")


def client_id_of(request: web.Request) -> str:
    return path_id(request, "client_id", "client")


async def for_known_client(request: web.Request, read: Callable[[str], Awaitable[T]]) -> T:
    """A client's records another service keeps. That service keys them by client id alone and cannot tell "none"
    from "no such client", so the id is checked with the client service at the same time: an id naming no client of
    the business answers 404, and a merged-away id reads its survivor's records, as GET /clients/{id} answers with
    the survivor."""
    client_id = client_id_of(request)
    client, records = await asyncio.gather(
        request.app[BACKENDS].clients.GetClient(client_pb.GetClientRequest(id=client_id)), read(client_id)
    )
    return await read(client.id) if client.merged_from else records


@api.route(
    "POST",
    "/api/v1/clients",
    summary="Create a client",
    tag="clients",
    permission="clients.write",
    body=CreateClientBody,
    response=ClientOut,
    status=201,
    errors=(409,),
    description="An Idempotency-Key header makes retries safe: the same key returns the first client.",
)
async def create_client(request: web.Request, body: CreateClientBody, account: Account) -> dict[str, Any]:
    key = idempotency.request_key(request)
    client = await request.app[BACKENDS].clients.CreateClient(
        client_pb.CreateClientRequest(
            first_name=body.first_name,
            last_name=body.last_name,
            email=body.email,
            phone=body.phone,
            default_region=account.country,
            request_id=key,
            profile=profile_message(body.profile) if body.profile else None,
            max_clients=account.max_clients,
            **contact_lists(body),
        )
    )
    return client_json(client)


@api.route(
    "GET",
    "/api/v1/clients",
    summary="List clients, newest first or in the order asked for (cursor pagination)",
    tag="clients",
    permission="clients.read",
    query=ClientListQuery,
    response=ClientPage,
)
async def list_clients(request: web.Request, query: ClientListQuery, account: Account) -> dict[str, Any]:
    reply = await request.app[BACKENDS].clients.ListClients(
        list_request(query, account, page_size=query.page_size, page_token=query.page_token, sort=query.sort)
    )
    return {"items": [client_json(c) for c in reply.clients], "next_page_token": reply.page.next_page_token or None}


@api.route(
    "GET",
    "/api/v1/clients/{client_id}",
    summary="Get a client",
    tag="clients",
    permission="clients.read",
    response=ClientOut,
    description="A client merged into another answers with that one: merged_from names the id asked for, and "
    "Content-Location the survivor's own address.",
)
async def get_client(request: web.Request, account: Account) -> dict[str, Any] | web.Response:
    client = await request.app[BACKENDS].clients.GetClient(client_pb.GetClientRequest(id=client_id_of(request)))
    if client.merged_from:
        return web.json_response(client_json(client), headers={"Content-Location": f"/api/v1/clients/{client.id}"})
    return client_json(client)


def activity_json(reply: notification_pb.ListClientActivityResponse) -> dict[str, Any]:
    return {
        "items": [
            {
                "id": e.id,
                "kind": e.kind,
                "summary": e.summary,
                "occurred_at": when(e.occurred_at),
                "source_event_type": e.source_event_type,
                "message": message_json(e.message) if e.HasField("message") else None,
            }
            for e in reply.entries
        ],
        "next_page_token": reply.page.next_page_token or None,
    }


async def activity_page(request: web.Request, client_id: str, query: PageQuery) -> dict[str, Any]:
    backends = request.app[BACKENDS]

    def timeline(of: str) -> Any:
        return backends.notifications.ListClientActivity(
            notification_pb.ListClientActivityRequest(
                client_id=of, page=types_pb2.PageRequest(page_size=query.page_size, page_token=query.page_token)
            )
        )

    # The client lookup proves the record is this tenant's; both calls run at once.
    client, reply = await asyncio.gather(
        backends.clients.GetClient(client_pb.GetClientRequest(id=client_id)), timeline(client_id)
    )
    if client.merged_from:
        reply = await timeline(client.id)  # a merged-away client's timeline is its survivor's now
    return activity_json(reply)


@api.route(
    "GET",
    "/api/v1/clients/{client_id}/activity",
    summary="A client's activity timeline, newest first",
    tag="clients",
    permission="clients.read",
    query=PageQuery,
    response=ActivityPage,
)
async def client_activity(request: web.Request, query: PageQuery, account: Account) -> dict[str, Any]:
    return await activity_page(request, client_id_of(request), query)


@api.route(
    "POST",
    "/api/v1/clients/{client_id}/portal-invitation",
    summary="Invite a client to the portal",
    tag="clients",
    permission="clients.write",
    body=PortalInvitationBody,
    response=PortalInvitationOut,
    status=201,
    errors=(409,),
    description="Emails the client a one-time, expiring link to set a password (PortalInvitationIssued, delivered "
    "by the notification service); the token is also returned.",
)
async def invite_to_portal(request: web.Request, body: PortalInvitationBody, account: Account) -> PortalInvitationOut:
    backends = request.app[BACKENDS]
    client = await backends.clients.GetClient(client_pb.GetClientRequest(id=client_id_of(request)))
    email = body.email or client.email.lower()
    if not email:
        raise InvalidArgument.single("email", "the client has no email address; give one")
    invitation = await request.app[IDENTITY].invite_to_portal(account, client_id=parse_uuid(client.id), email=email)  # type: ignore[arg-type]
    accept_url = f"{request.app[SETTINGS].base_url()}/portal/accept-invitation#token={invitation.token}"
    # Recorded by the client service, whose outbox carries the event the invitation email is sent from.
    recorded = record_pb.RecordPortalInvitationRequest(
        invitation_id=str(invitation.id),
        client_id=client.id,
        email=invitation.email,
        accept_url=accept_url,
        business_name=invitation.business_name,
    )
    recorded.expires_at.FromDatetime(invitation.expires_at)
    await backends.client_portal.RecordPortalInvitation(recorded)
    return PortalInvitationOut(
        email=invitation.email, token=invitation.token, accept_url=accept_url, expires_at=invitation.expires_at
    )


@api.route(
    "PATCH",
    "/api/v1/clients/{client_id}",
    summary="Change a client's details (only the fields given)",
    tag="clients",
    permission="clients.write",
    body=UpdateClientBody,
    response=ClientOut,
    errors=(409,),
    description="409 when the client is deleted, or was changed by someone else at the same moment.",
)
async def update_client(request: web.Request, body: UpdateClientBody, account: Account) -> dict[str, Any]:
    given = body.model_dump(include=body.model_fields_set, exclude_none=False)
    if not given:
        raise InvalidArgument.single("body", "give at least one field to change")
    if any(given[name] is None for name in given):
        nulls = sorted(name for name in given if given[name] is None)
        raise InvalidArgument([FieldViolation(name, "cannot be null; send an empty string to clear") for name in nulls])
    profile = given.pop("profile", None)
    for name in ("emails", "phones", "contact_persons", "custom_fields"):
        given.pop(name, None)
    client = await request.app[BACKENDS].clients.UpdateClient(
        client_pb.UpdateClientRequest(
            id=client_id_of(request),
            default_region=account.country,
            profile=profile_message(body.profile) if profile is not None and body.profile else None,
            **given,
            **contact_lists(body),
        )
    )
    return client_json(client)


@api.route(
    "DELETE",
    "/api/v1/clients/{client_id}",
    summary="Delete a client (soft: restorable)",
    tag="clients",
    permission="clients.delete",
    response=ClientOut,
    errors=(409,),
)
async def delete_client(request: web.Request, account: Account) -> dict[str, Any]:
    client = await request.app[BACKENDS].clients.DeleteClient(client_pb.DeleteClientRequest(id=client_id_of(request)))
    return client_json(client)


@api.route(
    "POST",
    "/api/v1/clients/{client_id}/restore",
    summary="Restore a deleted client",
    tag="clients",
    permission="clients.delete",
    response=ClientOut,
    errors=(409,),
)
async def restore_client(request: web.Request, account: Account) -> dict[str, Any]:
    client = await request.app[BACKENDS].clients.RestoreClient(
        client_pb.RestoreClientRequest(id=client_id_of(request), max_clients=account.max_clients)
    )
    return client_json(client)


@api.route(
    "PUT",
    "/api/v1/clients/{client_id}/online-booking-block",
    summary="Block or unblock a client from booking online",
    tag="clients",
    permission="clients.write",
    body=OnlineBookingBlockBody,
    response=ClientOut,
    errors=(409,),
)
async def set_online_booking_block(
    request: web.Request, body: OnlineBookingBlockBody, account: Account
) -> dict[str, Any]:
    client = await request.app[BACKENDS].clients.SetOnlineBookingBlocked(
        client_pb.SetOnlineBookingBlockedRequest(id=client_id_of(request), blocked=body.blocked, reason=body.reason)
    )
    return client_json(client)


@api.route(
    "PUT",
    "/api/v1/clients/{client_id}/staff",
    summary="Set the staff members assigned to a client",
    tag="clients",
    permission="clients.write",
    body=ClientStaffBody,
    response=ClientOut,
    errors=(409,),
)
async def set_client_staff(request: web.Request, body: ClientStaffBody, account: Account) -> dict[str, Any]:
    unknown = await request.app[IDENTITY].unknown_staff(account.tenant_id, body.staff_ids)
    if unknown:
        raise InvalidArgument.single("staff_ids", f"not staff of this business: {', '.join(sorted(unknown))}")
    client = await request.app[BACKENDS].clients.SetClientStaff(
        client_pb.SetClientStaffRequest(id=client_id_of(request), staff_ids=body.staff_ids)
    )
    return client_json(client)


@api.route(
    "PUT",
    "/api/v1/clients/{client_id}/tags",
    summary="Set a client's tags (categories)",
    tag="clients",
    permission="clients.write",
    body=ClientTagsBody,
    response=ClientOut,
    errors=(409,),
)
async def set_client_tags(request: web.Request, body: ClientTagsBody, account: Account) -> dict[str, Any]:
    client = await request.app[BACKENDS].clients.SetClientTags(
        client_pb.SetClientTagsRequest(id=client_id_of(request), tags=body.tags)
    )
    return client_json(client)


@api.route(
    "GET",
    "/api/v1/client-duplicates",
    summary="Likely duplicate clients, as scored pairs with the reasons (same email, phone or name)",
    tag="clients",
    permission="clients.read",
    query=DuplicatesQuery,
    response=DuplicatePairs,
)
async def find_duplicates(request: web.Request, query: DuplicatesQuery, account: Account) -> dict[str, Any]:
    reply = await request.app[BACKENDS].client_merges.FindDuplicateClients(
        client_pb.FindDuplicateClientsRequest(limit=query.limit)
    )
    return {
        "items": [
            {
                "first": client_json(p.first),
                "second": client_json(p.second),
                "score": p.score,
                "reasons": list(p.reasons),
            }
            for p in reply.pairs
        ]
    }
