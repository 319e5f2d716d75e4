"""The client card: one view of a client composed from the services in parallel.

A section whose service is down or slow is marked unavailable; the card itself still renders. Only the
client service's own "not found" makes the whole card a 404 (another tenant's client looks missing).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from aiohttp import web

from atrium.client.v1 import client_service_pb2 as client_pb
from atrium.common.v1 import types_pb2
from atrium.membership_billing.v1 import billing_pb2 as billing_pb
from atrium.notification.v1 import notification_service_pb2 as notification_pb
from atrium.portal_requests.v1 import portal_requests_pb2 as requests_pb
from atrium.scheduling.v1 import appointments_pb2 as scheduling_pb
from gateway.dependencies import BACKENDS, IDENTITY
from gateway.identity.model import Account
from gateway.routes.billing import currency_balance_json
from gateway.routes.clients import activity_json, client_id_of, client_json
from gateway.routes.notes import note_json
from gateway.routes.portal_requests import request_json
from gateway.routes.registry import api
from gateway.routes.scheduling import appointment_json
from gateway.schemas import ClientCardOut

# A card must render promptly even when a service hangs.
SECTION_DEADLINE_SECONDS = 2.0
TIMELINE_PAGE = 20
UNAVAILABLE = {"status": "unavailable", "data": None}


def ok(data: Any) -> dict[str, Any]:
    return {"status": "ok", "data": data}


def _highlight(reply: Any, render: Callable[[Any], Any]) -> dict[str, Any]:
    """A section from its service's reply; unavailable when the call failed (each degrades on its own)."""
    return UNAVAILABLE if isinstance(reply, BaseException) else ok(render(reply))


async def _section(call: Awaitable[Any]) -> Any:
    """The reply, or the exception (a section failing must not fail the card)."""
    try:
        return await call
    except (grpc.aio.AioRpcError, OSError, TimeoutError) as exc:
        return exc


@api.route(
    "GET",
    "/api/v1/clients/{client_id}/card",
    summary="The client card: information, assigned staff, latest note, highlights and timeline, in parallel",
    tag="clients",
    permission="clients.read",
    response=ClientCardOut,
    description="Each section has status ok or unavailable: a service being down degrades its section only.",
)
async def client_card(request: web.Request, account: Account) -> dict[str, Any]:
    client_id = client_id_of(request)
    backends = request.app[BACKENDS]
    deadline = SECTION_DEADLINE_SECONDS

    def about(owner_id: str) -> list[Awaitable[Any]]:
        """The sections kept by other services, for the client ``owner_id``."""
        return [
            _section(
                backends.notifications.ListClientActivity(
                    notification_pb.ListClientActivityRequest(
                        client_id=owner_id, page=types_pb2.PageRequest(page_size=TIMELINE_PAGE)
                    ),
                    timeout=deadline,
                )
            ),
            _section(
                backends.appointments.ListClientAppointments(
                    scheduling_pb.ListClientAppointmentsRequest(
                        client_id=owner_id, view="upcoming", page=types_pb2.PageRequest(page_size=1)
                    ),
                    timeout=deadline,
                )
            ),
            _section(
                backends.billing.GetClientBalance(
                    billing_pb.GetClientBalanceRequest(client_id=owner_id), timeout=deadline
                )
            ),
            _section(
                backends.portal_requests.GetClientRequestSummary(
                    requests_pb.GetClientRequestSummaryRequest(client_id=owner_id), timeout=deadline
                )
            ),
        ]

    client, notes, *others = await asyncio.gather(
        _section(backends.clients.GetClient(client_pb.GetClientRequest(id=client_id), timeout=deadline)),
        _section(
            backends.clients.ListClientNotes(
                client_pb.ListClientNotesRequest(client_id=client_id, page=types_pb2.PageRequest(page_size=1)),
                timeout=deadline,
            )
        ),
        *about(client_id),
    )
    if isinstance(client, grpc.aio.AioRpcError) and client.code() == grpc.StatusCode.NOT_FOUND:
        raise client  # the problem middleware answers 404
    if not isinstance(client, BaseException) and client.merged_from:
        # Merged into another client: the card is the survivor's, everything other services keep included.
        others = await asyncio.gather(*about(client.id))
    activity, upcoming, balance, requests = others
    card: dict[str, Any] = {"client_id": client_id}
    if isinstance(client, BaseException):
        card["information"] = card["assigned_staff"] = UNAVAILABLE
    else:
        card["information"] = ok(client_json(client))
        direct = list(client.assigned_staff_ids)
        via_groups = [s for s in client.group_staff_ids if s not in direct]
        staff = await request.app[IDENTITY].staff_members(account.tenant_id, direct + via_groups)
        card["assigned_staff"] = ok([member | {"via_group": member["id"] in via_groups} for member in staff])
    card["latest_note"] = _highlight(notes, lambda r: note_json(r.notes[0]) if r.notes else None)
    card["timeline"] = _highlight(activity, activity_json)
    card["highlights"] = {
        "next_appointment": _highlight(
            upcoming, lambda r: appointment_json(r.appointments[0]) if r.appointments else None
        ),
        "pending_payment": _highlight(
            balance, lambda r: [currency_balance_json(b) for b in r.currencies if b.outstanding_minor > 0]
        ),
        "open_request": _highlight(
            requests,
            lambda r: {
                "open_count": r.open_count,
                "oldest": request_json(r.oldest, staff=True) if r.HasField("oldest") else None,
                "approval_required_until": (
                    r.approval_required_until.ToJsonString() if r.HasField("approval_required_until") else None
                ),
            },
        ),
    }
    return card
