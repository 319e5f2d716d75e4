"""gRPC servicer of ClientRecords: protobuf in, commands and views, protobuf out. No business rules here."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf import json_format, struct_pb2
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncEngine

from atrium.client.v1 import client_record_pb2 as record_pb
from atrium.client.v1 import client_service_pb2 as pb
from atrium.client.v1 import client_service_pb2_grpc as pb_grpc
from atrium.common.v1 import types_pb2
from client_svc import search_views, views
from client_svc.domain import commands, commands_merges
from client_svc.domain.contact_details import ContactPersonInput, ContactPointInput
from client_svc.domain.groups import ClientGroup
from client_svc.domain.model import Client
from client_svc.domain.notes import Note
from client_svc.domain.profile import Address, ProfileInput
from client_svc.domain.search import read_search
from client_svc.domain.statuses import ClientStatus
from client_svc.entrypoints.access import record_id as _record_id
from client_svc.entrypoints.access import reference_id as _reference_id
from client_svc.entrypoints.access import require_staff as _require_staff
from client_svc.entrypoints.access import timestamp as _timestamp
from client_svc.entrypoints.access import utc_now
from client_svc.service_layer import erasure_handlers, handlers
from client_svc.service_layer.unit_of_work import ClientUnitOfWork
from platform_core.errors import InvalidArgument, NotFound, PermissionDenied
from platform_core.grpc.context import current_context
from platform_core.grpc.values import aware
from platform_core.ids import parse_uuid

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["ClientRecords"].full_name
# Who may erase a client's personal data.
ERASER_ROLES = frozenset({"owner", "admin"})


def client_message(
    row: Any, *, status_label: str | None = None, portal: bool = False, merged_from: str = ""
) -> pb.Client:
    """From a view row, or from a Client aggregate with its status label given (and no custom values).
    A portal principal gets the custom fields of the portal profile form only; ``merged_from`` is the id
    asked for when it was merged into this client."""
    return pb.Client(
        id=str(row.id),
        first_name=row.first_name,
        last_name=row.last_name,
        email=row.email or "",
        phone=row.phone or "",
        created_at=_timestamp(row.created_at),
        updated_at=_timestamp(row.updated_at),
        online_booking_blocked=row.online_booking_blocked,
        online_booking_blocked_until=(
            _timestamp(row.online_booking_blocked_until) if row.online_booking_blocked_until else None
        ),
        deleted_at=_timestamp(row.deleted_at) if row.deleted_at else None,
        version=row.version,
        status_id=str(row.status_id or ""),
        status_label=(row.status_label if status_label is None else status_label) or "",
        assigned_staff_ids=[str(s) for s in row.assigned_staff_ids or ()],
        # A client just created is in no group yet.
        group_staff_ids=[] if isinstance(row, Client) else [str(s) for s in row.group_staff_ids or ()],
        tags=list(row.tags or ()),
        profile=_profile_message(row),
        **_contact_messages(row),
        custom_fields={
            v["key"]: json_format.ParseDict(v["value"], struct_pb2.Value())
            for v in ([] if isinstance(row, Client) else row.custom_values or [])
            if v["portal"] or not portal
        },
        merged_from=merged_from,
        erased_at=_timestamp(row.erased_at) if row.erased_at else None,
    )


def _contact_messages(row: Any) -> dict[str, Any]:
    if isinstance(row, Client):
        points = [
            {"kind": p.kind, "value": p.value, "label": p.label, "primary": p.is_primary}
            for p in sorted(row.contact_points, key=lambda p: (p.kind, p.position))
        ]
        persons = [vars(p.values) for p in sorted(row.contact_persons, key=lambda p: p.position)]
    else:
        points, persons = row.contact_points or [], row.contact_persons or []
    return {
        f"{kind}s": [
            record_pb.ContactPoint(value=p["value"], label=p["label"], primary=p["primary"])
            for p in points
            if p["kind"] == kind
        ]
        for kind in ("email", "phone")
    } | {
        "contact_persons": [
            record_pb.ContactPerson(name=p["name"], role=p["role"], email=p["email"] or "", phone=p["phone"] or "")
            for p in persons
        ]
    }


def custom_inputs(request: Any) -> dict[str, object]:
    """Custom field values of a request as JSON values (a null clears)."""
    return {key: json_format.MessageToDict(value) for key, value in request.custom_fields.items()}


def _contact_inputs(request: Any) -> dict[str, Any]:
    """The contact lists a create or update request carries (None where absent)."""
    return {
        "emails": tuple(ContactPointInput(p.value, p.label, p.primary) for p in request.emails.items)
        if request.HasField("emails")
        else None,
        "phones": tuple(ContactPointInput(p.value, p.label, p.primary) for p in request.phones.items)
        if request.HasField("phones")
        else None,
        "contact_persons": tuple(
            ContactPersonInput(p.name, p.role, p.email, p.phone) for p in request.contact_persons.items
        )
        if request.HasField("contact_persons")
        else None,
    }


def _profile_message(row: Any) -> pb.ClientProfile:
    profile = pb.ClientProfile(
        kind=row.kind,
        company_name=row.company_name,
        address=pb.PostalAddress(
            line1=row.address_line1,
            line2=row.address_line2,
            city=row.address_city,
            region=row.address_region,
            postal_code=row.address_postal_code,
            country=row.address_country,
        ),
        date_of_birth=row.date_of_birth.isoformat() if row.date_of_birth else "",
        preferred_language=row.preferred_language,
        timezone=row.timezone,
        source=row.source,
        default_invoicing_method=row.default_invoicing_method,
    )
    if row.opening_balance_currency:
        profile.opening_balance.amount_minor = row.opening_balance_minor
        profile.opening_balance.currency = row.opening_balance_currency
    return profile


def _profile_input(message: pb.ClientProfile) -> ProfileInput:
    a = message.address
    return ProfileInput(
        kind=message.kind,
        company_name=message.company_name,
        address=Address(a.line1, a.line2, a.city, a.region, a.postal_code, a.country),
        date_of_birth=message.date_of_birth,
        preferred_language=message.preferred_language,
        timezone=message.timezone,
        source=message.source,
        default_invoicing_method=message.default_invoicing_method,
        opening_balance_minor=message.opening_balance.amount_minor,
        opening_balance_currency=message.opening_balance.currency,
    )


def note_message(note: Note) -> pb.ClientNote:
    current = note.current
    return pb.ClientNote(
        id=str(note.id),
        client_id=str(note.client_id),
        body=current.body,
        author_id=note.author_id,
        created_at=_timestamp(note.created_at),
        updated_at=_timestamp(current.edited_at),
        revision=current.revision,
    )


def note_row_message(row: Any) -> pb.ClientNote:
    return pb.ClientNote(
        id=str(row.id),
        client_id=str(row.client_id),
        body=row.body,
        author_id=row.author_id,
        created_at=_timestamp(row.created_at),
        updated_at=_timestamp(row.updated_at),
        revision=row.revision,
    )


def status_message(status: ClientStatus) -> pb.ClientStatus:
    return pb.ClientStatus(
        id=str(status.id),
        label=status.label,
        position=status.position,
        is_default=status.is_default,
        archived=status.archived,
    )


def group_message(group: ClientGroup) -> pb.ClientGroup:
    return pb.ClientGroup(
        id=str(group.id),
        name=group.name,
        member_count=group.member_count,
        staff_ids=[str(s) for s in group.staff_ids],
    )


BOOKING_REQUEST_FORM = "booking_request"


def _portal_form(asked: str) -> str:
    """A client edits its profile, or answers the booking request form while requesting an appointment."""
    return BOOKING_REQUEST_FORM if asked == BOOKING_REQUEST_FORM else "portal_profile"


def _optional(request: Any, field: str) -> str | None:
    return getattr(request, field) if request.HasField(field) else None


async def client_page(
    engine: AsyncEngine, tenant_id: uuid.UUID, request: pb.ListClientsRequest
) -> tuple[list[Row[Any]], str]:
    """One page of the client list, with its filters and search, and the next page's token (the benchmark runs
    this too, to time the very SQL a search runs)."""
    limit = views.page_size(request.page.page_size)
    filters = list_filters(request)
    search = filters.pop("search")
    if search is not None and search.name_prefixes:
        # Names: prefix matches first, then typo-tolerant ones (search_views has its own page tokens).
        if views.list_order(request.sort) != views.DEFAULT_ORDER:
            raise InvalidArgument.single(
                "sort", "a name search lists the best matches first; sort a list without name words in q"
            )
        return await search_views.find_by_name(
            engine, tenant_id, search, limit=limit, page_token=request.page.page_token, **filters
        )
    return await views.list_clients(
        engine,
        tenant_id,
        limit=limit,
        page_token=request.page.page_token,
        sort=request.sort,
        search=search,
        **filters,
    )


def list_filters(request: pb.ListClientsRequest) -> dict[str, Any]:
    """The list's filters, as views.list_clients takes them (the export uses the same)."""
    return {
        "include_deleted": request.include_deleted,
        "only_deleted": request.only_deleted,
        "online_booking_blocked": request.online_booking_blocked
        if request.HasField("online_booking_blocked")
        else None,
        "status_id": _reference_id(request.status_id, "status_id", "status") if request.status_id else None,
        "search": read_search(request.query, request.default_region),
        "assigned_staff_id": _reference_id(request.assigned_staff_id, "assigned_staff_id", "staff")
        if request.assigned_staff_id
        else None,
        "tag": request.tag,
        "group_id": _reference_id(request.group_id, "group_id", "group") if request.group_id else None,
    }


class ClientRecordsServicer(pb_grpc.ClientRecordsServicer):
    def __init__(self, *, uow_factory: Callable[[], ClientUnitOfWork], engine: AsyncEngine) -> None:
        self._uow_factory = uow_factory
        self._engine = engine

    async def CreateClient(self, request: pb.CreateClientRequest, context: grpc.aio.ServicerContext) -> pb.Client:
        tenant_id = _require_staff()
        created = await handlers.create_client(
            commands.CreateClient(
                tenant_id=tenant_id,
                first_name=request.first_name,
                last_name=request.last_name,
                email=request.email,
                phone=request.phone,
                default_region=request.default_region,
                request_id=request.request_id,
                profile=_profile_input(request.profile),
                max_clients=request.max_clients,
                **_contact_inputs(request),
                custom_fields=custom_inputs(request),
                form=request.form,
                now=utc_now(),
            ),
            self._uow_factory(),
        )
        if created.status_label is None or created.client.custom_values:
            return await self._read(created.client)
        # Built from what was just written: no read back on the hot path.
        return client_message(created.client, status_label=created.status_label)

    async def GetClient(self, request: pb.GetClientRequest, context: grpc.aio.ServicerContext) -> pb.Client:
        call = current_context()
        client_id = parse_uuid(request.id)
        # A portal principal sees its own record only; anything else looks exactly like a missing one.
        if client_id is None or (call.principal.is_portal and call.principal.client_id != str(client_id)):
            raise NotFound("client not found")
        # A merged-away id answers with the client it was merged into, saying so.
        row = await views.resolved_client(self._engine, call.tenant_id, client_id)
        if row is None:
            raise NotFound("client not found")
        return client_message(
            row, portal=call.principal.is_portal, merged_from=str(client_id) if row.id != client_id else ""
        )

    async def ListClients(
        self, request: pb.ListClientsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListClientsResponse:
        rows, token = await client_page(self._engine, _require_staff(), request)
        return pb.ListClientsResponse(
            clients=[client_message(r) for r in rows], page=types_pb2.PageInfo(next_page_token=token)
        )

    async def UpdateClient(self, request: pb.UpdateClientRequest, context: grpc.aio.ServicerContext) -> pb.Client:
        call = current_context()
        client_id = _record_id(request.id, "client")
        if call.principal.is_portal:
            # A client may change its own contact details (the gateway checks the business allows it).
            if call.principal.client_id != str(client_id):
                raise NotFound("client not found")
            if request.HasField("profile") or request.HasField("contact_persons"):
                raise PermissionDenied("clients cannot change their profile or contact persons")
            if request.form == BOOKING_REQUEST_FORM and any(
                request.HasField(name) for name in ("first_name", "last_name", "email", "phone", "emails", "phones")
            ):
                raise PermissionDenied("answers to the booking request form are custom field values only")
        else:
            _require_staff()
        command = commands.UpdateClient(
            tenant_id=call.tenant_id,
            client_id=client_id,
            first_name=_optional(request, "first_name"),
            last_name=_optional(request, "last_name"),
            email=_optional(request, "email"),
            phone=_optional(request, "phone"),
            default_region=request.default_region,
            profile=_profile_input(request.profile) if request.HasField("profile") else None,
            **_contact_inputs(request),
            custom_fields=custom_inputs(request),
            form=_portal_form(request.form) if call.principal.is_portal else request.form,
            now=utc_now(),
        )
        return await self._read(await handlers.update_client(command, self._uow_factory()))

    async def DeleteClient(self, request: pb.DeleteClientRequest, context: grpc.aio.ServicerContext) -> pb.Client:
        command = commands.DeleteClient(_require_staff(), _record_id(request.id, "client"), now=utc_now())
        return await self._read(await handlers.delete_client(command, self._uow_factory()))

    async def RestoreClient(self, request: pb.RestoreClientRequest, context: grpc.aio.ServicerContext) -> pb.Client:
        command = commands.RestoreClient(
            _require_staff(), _record_id(request.id, "client"), max_clients=request.max_clients, now=utc_now()
        )
        return await self._read(await handlers.restore_client(command, self._uow_factory()))

    async def SetOnlineBookingBlocked(
        self, request: pb.SetOnlineBookingBlockedRequest, context: grpc.aio.ServicerContext
    ) -> pb.Client:
        command = commands.SetOnlineBookingBlocked(
            _require_staff(),
            _record_id(request.id, "client"),
            blocked=request.blocked,
            reason=request.reason,
            until=aware(request.blocked_until) if request.HasField("blocked_until") else None,
            now=utc_now(),
        )
        return await self._read(await handlers.set_online_booking_blocked(command, self._uow_factory()))

    async def SetClientStatus(self, request: pb.SetClientStatusRequest, context: grpc.aio.ServicerContext) -> pb.Client:
        command = commands.SetClientStatus(
            _require_staff(),
            _record_id(request.id, "client"),
            _reference_id(request.status_id, "status_id", "status"),
            now=utc_now(),
        )
        return await self._read(await handlers.set_client_status(command, self._uow_factory()))

    async def _read(self, client: Client) -> pb.Client:
        """The client as every read shows it (with its status label), after a change."""
        row = await views.client_by_id(self._engine, client.tenant_id, client.id)
        if row is None:
            raise NotFound("client not found")
        return client_message(row, portal=current_context().principal.is_portal)

    async def ListClientStatuses(
        self, request: pb.ListClientStatusesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListClientStatusesResponse:
        statuses = await handlers.list_statuses(
            commands.ListClientStatuses(_require_staff(), include_archived=request.include_archived),
            self._uow_factory(),
        )
        return pb.ListClientStatusesResponse(statuses=[status_message(s) for s in statuses])

    async def CreateClientStatus(
        self, request: pb.CreateClientStatusRequest, context: grpc.aio.ServicerContext
    ) -> pb.ClientStatus:
        command = commands.CreateClientStatus(_require_staff(), request.label)
        return status_message(await handlers.create_status(command, self._uow_factory()))

    async def UpdateClientStatus(
        self, request: pb.UpdateClientStatusRequest, context: grpc.aio.ServicerContext
    ) -> pb.ClientStatus:
        command = commands.UpdateClientStatus(
            _require_staff(),
            _reference_id(request.id, "id", "status"),
            label=_optional(request, "label"),
            make_default=request.make_default,
        )
        return status_message(await handlers.update_status(command, self._uow_factory()))

    async def ArchiveClientStatus(
        self, request: pb.ArchiveClientStatusRequest, context: grpc.aio.ServicerContext
    ) -> pb.ClientStatus:
        command = commands.ArchiveClientStatus(
            _require_staff(), _reference_id(request.id, "id", "status"), now=utc_now()
        )
        return status_message(await handlers.archive_status(command, self._uow_factory()))

    async def ReorderClientStatuses(
        self, request: pb.ReorderClientStatusesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListClientStatusesResponse:
        ids = tuple(_reference_id(raw, "ids", "status") for raw in request.ids)
        ordered = await handlers.reorder_statuses(
            commands.ReorderClientStatuses(_require_staff(), ids), self._uow_factory()
        )
        return pb.ListClientStatusesResponse(statuses=[status_message(s) for s in ordered])

    async def AddClientNote(self, request: pb.AddClientNoteRequest, context: grpc.aio.ServicerContext) -> pb.ClientNote:
        tenant_id = _require_staff()
        command = commands.AddClientNote(
            tenant_id,
            _record_id(request.client_id, "client"),
            author_id=current_context().principal.id,
            body=request.body,
            now=utc_now(),
        )
        return note_message(await handlers.add_note(command, self._uow_factory()))

    async def EditClientNote(
        self, request: pb.EditClientNoteRequest, context: grpc.aio.ServicerContext
    ) -> pb.ClientNote:
        tenant_id = _require_staff()
        principal = current_context().principal
        note_id = _record_id(request.note_id, "note")
        command = commands.EditClientNote(
            tenant_id,
            _record_id(request.client_id, "client"),
            note_id,
            editor_id=principal.id,
            editor_role=principal.role,
            body=request.body,
            now=utc_now(),
        )
        return note_message(await handlers.edit_note(command, self._uow_factory()))

    async def ListClientNotes(
        self, request: pb.ListClientNotesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListClientNotesResponse:
        tenant_id = _require_staff()
        client = await views.resolved_client(self._engine, tenant_id, _record_id(request.client_id, "client"))
        if client is None:
            raise NotFound("client not found")
        client_id = client.id  # a merged-away client's notes are the survivor's now
        limit = views.page_size(request.page.page_size)
        after = views.decode_cursor(request.page.page_token) if request.page.page_token else None
        rows, next_after = await views.notes_of_client(self._engine, tenant_id, client_id, limit=limit, after=after)
        return pb.ListClientNotesResponse(
            notes=[note_row_message(r) for r in rows],
            page=types_pb2.PageInfo(next_page_token=views.encode_cursor(next_after) if next_after else ""),
        )

    async def GetClientNoteHistory(
        self, request: pb.GetClientNoteHistoryRequest, context: grpc.aio.ServicerContext
    ) -> pb.ClientNoteHistory:
        tenant_id = _require_staff()
        note_id = _record_id(request.note_id, "note")
        client = await views.resolved_client(self._engine, tenant_id, _record_id(request.client_id, "client"))
        rows = await views.note_history(self._engine, tenant_id, client.id, note_id) if client else []
        if not rows:
            raise NotFound("note not found")
        return pb.ClientNoteHistory(
            note_id=str(note_id),
            revisions=[
                pb.ClientNoteRevision(
                    revision=r.revision, body=r.body, edited_by=r.edited_by, edited_at=_timestamp(r.edited_at)
                )
                for r in rows
            ],
        )

    async def SetClientStaff(self, request: pb.SetClientStaffRequest, context: grpc.aio.ServicerContext) -> pb.Client:
        command = commands.SetClientStaff(
            _require_staff(),
            _record_id(request.id, "client"),
            tuple(_reference_id(raw, "staff_ids", "staff") for raw in request.staff_ids),
            now=utc_now(),
        )
        return await self._read(await handlers.set_client_staff(command, self._uow_factory()))

    async def SetClientTags(self, request: pb.SetClientTagsRequest, context: grpc.aio.ServicerContext) -> pb.Client:
        command = commands.SetClientTags(
            _require_staff(), _record_id(request.id, "client"), tuple(request.tags), now=utc_now()
        )
        return await self._read(await handlers.set_client_tags(command, self._uow_factory()))

    async def ListClientGroups(
        self, request: pb.ListClientGroupsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListClientGroupsResponse:
        groups = await handlers.list_groups(commands.ListClientGroups(_require_staff()), self._uow_factory())
        return pb.ListClientGroupsResponse(groups=[group_message(g) for g in groups])

    async def CreateClientGroup(
        self, request: pb.CreateClientGroupRequest, context: grpc.aio.ServicerContext
    ) -> pb.ClientGroup:
        command = commands.CreateClientGroup(_require_staff(), request.name, now=utc_now())
        return group_message(await handlers.create_group(command, self._uow_factory()))

    async def RenameClientGroup(
        self, request: pb.RenameClientGroupRequest, context: grpc.aio.ServicerContext
    ) -> pb.ClientGroup:
        command = commands.RenameClientGroup(_require_staff(), _record_id(request.id, "group"), request.name)
        return group_message(await handlers.rename_group(command, self._uow_factory()))

    async def DeleteClientGroup(
        self, request: pb.DeleteClientGroupRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteClientGroupResponse:
        command = commands.DeleteClientGroup(_require_staff(), _record_id(request.id, "group"))
        await handlers.delete_group(command, self._uow_factory())
        return pb.DeleteClientGroupResponse()

    async def AddClientsToGroup(
        self, request: pb.GroupMembersRequest, context: grpc.aio.ServicerContext
    ) -> pb.ClientGroup:
        command = commands.AddClientsToGroup(
            _require_staff(), _record_id(request.group_id, "group"), tuple(request.client_ids), now=utc_now()
        )
        return group_message(await handlers.add_clients_to_group(command, self._uow_factory()))

    async def SetClientGroupStaff(
        self, request: pb.SetClientGroupStaffRequest, context: grpc.aio.ServicerContext
    ) -> pb.ClientGroup:
        command = commands.SetClientGroupStaff(
            _require_staff(),
            _record_id(request.group_id, "group"),
            tuple(_reference_id(raw, "staff_ids", "staff") for raw in request.staff_ids),
            now=utc_now(),
        )
        return group_message(await handlers.set_group_staff(command, self._uow_factory()))

    async def RemoveClientsFromGroup(
        self, request: pb.GroupMembersRequest, context: grpc.aio.ServicerContext
    ) -> pb.ClientGroup:
        command = commands.RemoveClientsFromGroup(
            _require_staff(), _record_id(request.group_id, "group"), tuple(request.client_ids)
        )
        return group_message(await handlers.remove_clients_from_group(command, self._uow_factory()))

    async def EraseClient(self, request: pb.EraseClientRequest, context: grpc.aio.ServicerContext) -> pb.Client:
        tenant_id = _require_staff()
        principal = current_context().principal
        if principal.kind == "staff" and principal.role not in ERASER_ROLES:
            raise PermissionDenied("only an owner or an admin may erase a client's personal data")
        command = commands_merges.EraseClient(
            tenant_id, _record_id(request.id, "client"), request.confirm, now=utc_now()
        )
        client = await erasure_handlers.erase_client(command, self._uow_factory())
        row = await views.client_by_id(self._engine, client.tenant_id, client.id)
        if row is None:
            raise NotFound("client not found")
        return client_message(row)
