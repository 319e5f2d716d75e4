"""Merging duplicate clients and undoing a merge (within 30 days)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from atrium.client.v1 import client_service_pb2 as client_pb
from gateway.api import path_id
from gateway.dependencies import BACKENDS
from gateway.identity.model import Account
from gateway.merge_schemas import ClientMergeList, ClientMergeOut, MergeBody
from gateway.routes.clients import client_id_of, client_json
from gateway.routes.registry import api


def merge_json(merge: client_pb.ClientMerge) -> dict[str, Any]:
    return {
        "id": merge.id,
        "survivor_id": merge.survivor_id,
        "merged_ids": list(merge.merged_ids),
        "merged_at": merge.merged_at.ToJsonString(),
        "undo_until": merge.undo_until.ToJsonString(),
        "unmerged_at": merge.unmerged_at.ToJsonString() if merge.HasField("unmerged_at") else None,
        "undoable": merge.undoable,
        "merged_by": merge.merged_by,
        "fields_taken": dict(merge.fields_taken),
        "moved": {table.removeprefix("client_"): count for table, count in merge.moved.items()},
        "survivor": client_json(merge.survivor) if merge.HasField("survivor") else None,
    }


def merge_id_of(request: web.Request) -> str:
    return path_id(request, "merge_id", "merge")


@api.route(
    "POST",
    "/api/v1/client-merges",
    summary="Merge duplicate clients into one survivor",
    tag="duplicates",
    permission="clients.merge",
    body=MergeBody,
    response=ClientMergeOut,
    status=201,
    errors=(409,),
    description="Notes, tags, group memberships and staff assignments move to the survivor; each field keeps "
    "the value chosen for it (by default the survivor's, else the first non-empty one). The merged clients "
    "keep resolving to the survivor. Undo within 30 days with POST /api/v1/client-merges/{merge_id}/undo.",
)
async def merge_clients(request: web.Request, body: MergeBody, account: Account) -> dict[str, Any]:
    merge = await request.app[BACKENDS].client_merges.MergeClients(
        client_pb.MergeClientsRequest(
            survivor_id=body.survivor_id, merged_ids=body.merged_ids, field_choices=dict(body.field_choices)
        )
    )
    return merge_json(merge)


@api.route(
    "GET",
    "/api/v1/client-merges/{merge_id}",
    summary="A merge",
    permission="clients.read",
    tag="duplicates",
    response=ClientMergeOut,
)
async def get_merge(request: web.Request, account: Account) -> dict[str, Any]:
    merge = await request.app[BACKENDS].client_merges.GetClientMerge(
        client_pb.GetClientMergeRequest(merge_id=merge_id_of(request))
    )
    return merge_json(merge)


@api.route(
    "POST",
    "/api/v1/client-merges/{merge_id}/undo",
    summary="Undo a merge: every record back to its original client",
    tag="duplicates",
    permission="clients.merge",
    response=ClientMergeOut,
    errors=(409,),
    description="Within 30 days of the merge. Records added to the survivor since stay with it; its fields "
    "get their earlier values back unless changed since. 409 MERGE_UNDO_EXPIRED after 30 days, "
    "MERGE_ALREADY_UNDONE, MERGE_SUPERSEDED (the survivor was merged since: undo that first), CLIENT_ERASED, "
    "PLAN_CLIENT_LIMIT (the restored clients would exceed the plan).",
)
async def undo_merge(request: web.Request, account: Account) -> dict[str, Any]:
    merge = await request.app[BACKENDS].client_merges.UnmergeClients(
        client_pb.UnmergeClientsRequest(merge_id=merge_id_of(request), max_clients=account.max_clients)
    )
    return merge_json(merge)


@api.route(
    "GET",
    "/api/v1/clients/{client_id}/merges",
    summary="The merges a client took part in, newest first",
    tag="duplicates",
    permission="clients.read",
    response=ClientMergeList,
)
async def client_merges(request: web.Request, account: Account) -> dict[str, Any]:
    reply = await request.app[BACKENDS].client_merges.ListClientMerges(
        client_pb.ListClientMergesRequest(client_id=client_id_of(request))
    )
    return {"items": [merge_json(m) for m in reply.merges]}
