"""gRPC servicer of CustomFields: the business's custom field definitions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf import json_format, struct_pb2

from atrium.client.v1 import client_record_pb2 as record_pb
from atrium.client.v1 import client_service_pb2 as pb
from atrium.client.v1 import client_service_pb2_grpc as pb_grpc
from client_svc.domain import commands_custom_fields as commands
from client_svc.domain.custom_fields import CustomField
from client_svc.entrypoints.access import reference_id, require_staff, utc_now
from client_svc.service_layer import custom_field_handlers as handlers
from client_svc.service_layer.unit_of_work import ClientUnitOfWork
from platform_core.grpc.context import current_context

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["CustomFields"].full_name


def custom_field_message(definition: CustomField) -> record_pb.CustomField:
    return record_pb.CustomField(
        id=str(definition.id),
        key=definition.key,
        label=definition.label,
        type=definition.type,
        options=definition.options,
        required=definition.required,
        forms=definition.forms,
        position=definition.position,
        retired=definition.retired,
    )


def _fields(definitions: list[CustomField]) -> record_pb.ListCustomFieldsResponse:
    return record_pb.ListCustomFieldsResponse(fields=[custom_field_message(d) for d in definitions])


class CustomFieldsServicer(pb_grpc.CustomFieldsServicer):
    def __init__(self, *, uow_factory: Callable[[], ClientUnitOfWork]) -> None:
        self._uow_factory = uow_factory

    async def ListCustomFields(
        self, request: record_pb.ListCustomFieldsRequest, context: grpc.aio.ServicerContext
    ) -> record_pb.ListCustomFieldsResponse:
        call = current_context()
        if call.principal.is_portal:
            # A client sees what its profile form, or the booking request form, asks; nothing more.
            form = "booking_request" if request.form == "booking_request" else "portal_profile"
            command = commands.ListCustomFields(call.tenant_id, include_retired=False, form=form)
        else:
            command = commands.ListCustomFields(
                require_staff(), include_retired=request.include_retired, form=request.form
            )
        return _fields(await handlers.list_custom_fields(command, self._uow_factory()))

    async def CheckFormAnswers(
        self, request: pb.CheckFormAnswersRequest, context: grpc.aio.ServicerContext
    ) -> pb.CheckFormAnswersResponse:
        command = commands.CheckFormAnswers(
            require_staff(),
            form=request.form,
            answers={key: json_format.MessageToDict(value) for key, value in request.custom_fields.items()},
            region=request.default_region,
        )
        stored: dict[str, Any] = await handlers.check_form_answers(command, self._uow_factory())
        return pb.CheckFormAnswersResponse(
            custom_fields={key: json_format.ParseDict(value, struct_pb2.Value()) for key, value in stored.items()}
        )

    async def CreateCustomField(
        self, request: record_pb.CreateCustomFieldRequest, context: grpc.aio.ServicerContext
    ) -> record_pb.CustomField:
        command = commands.CreateCustomField(
            require_staff(),
            label=request.label,
            type=request.type,
            key=request.key,
            options=tuple(request.options),
            required=request.required,
            forms=tuple(request.forms),
            now=utc_now(),
        )
        return custom_field_message(await handlers.create_custom_field(command, self._uow_factory()))

    async def UpdateCustomField(
        self, request: record_pb.UpdateCustomFieldRequest, context: grpc.aio.ServicerContext
    ) -> record_pb.CustomField:
        command = commands.UpdateCustomField(
            require_staff(),
            reference_id(request.id, "id", "custom field"),
            label=request.label if request.HasField("label") else None,
            options=tuple(request.options.items) if request.HasField("options") else None,
            required=request.required if request.HasField("required") else None,
            forms=tuple(request.forms.items) if request.HasField("forms") else None,
            retired=request.retired if request.HasField("retired") else None,
            now=utc_now(),
        )
        return custom_field_message(await handlers.update_custom_field(command, self._uow_factory()))

    async def RetireCustomField(
        self, request: record_pb.RetireCustomFieldRequest, context: grpc.aio.ServicerContext
    ) -> record_pb.CustomField:
        command = commands.RetireCustomField(
            require_staff(), reference_id(request.id, "id", "custom field"), now=utc_now()
        )
        return custom_field_message(await handlers.retire_custom_field(command, self._uow_factory()))

    async def ReorderCustomFields(
        self, request: record_pb.ReorderCustomFieldsRequest, context: grpc.aio.ServicerContext
    ) -> record_pb.ListCustomFieldsResponse:
        ids = tuple(reference_id(raw, "ids", "custom field") for raw in request.ids)
        ordered = await handlers.reorder_custom_fields(
            commands.ReorderCustomFields(require_staff(), ids), self._uow_factory()
        )
        return _fields(ordered)
