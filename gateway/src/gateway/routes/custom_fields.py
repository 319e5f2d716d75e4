"""The business's custom fields: owners and admins define them; values travel on the client record."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import Field, StringConstraints

from atrium.client.v1 import client_record_pb2 as record_pb
from gateway.api import path_id
from gateway.dependencies import BACKENDS
from gateway.identity.model import Account
from gateway.routes.portal import portal_access
from gateway.routes.registry import api
from gateway.schemas import Body, Out

FieldType = Literal[
    "text", "long_text", "number", "date", "single_choice", "multiple_choice", "checkbox", "email", "phone", "url"
]
Form = Literal["staff", "portal_profile", "booking_request"]
Option = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Options = Annotated[list[Option], Field(max_length=100)]
Forms = Annotated[list[Form], Field(max_length=3)]


class CustomFieldOut(Out):
    id: str
    key: str = Field(description="Stable: values are read and written by key (API, import, export).")
    label: str
    type: FieldType
    options: list[str] = Field(description="Choices of single_choice and multiple_choice fields.")
    required: bool = Field(description="Required on the forms the field is collected on.")
    forms: list[Form] = Field(description="Where the field is collected.")
    position: int
    retired: bool = Field(description="Collects nothing new; stored values stay readable.")


class CustomFieldList(Out):
    items: list[CustomFieldOut]


class CustomFieldsQuery(Body):
    include_retired: bool = False
    form: Form | Literal[""] = Field(default="", description="Only the fields collected on this form.")


class PortalFormQuery(Body):
    form: Literal["portal_profile", "booking_request"] = "portal_profile"


class CreateCustomFieldBody(Body):
    label: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    key: Annotated[str, StringConstraints(max_length=50)] = Field(default="", description="Derived from the label.")
    type: FieldType
    options: Options = []
    required: bool = False
    forms: Forms = ["staff"]


class UpdateCustomFieldBody(Body):
    """The key and type never change."""

    label: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    options: Options | None = Field(default=None, description="Removing an option keeps the values that use it.")
    required: bool | None = None
    forms: Forms | None = None
    retired: bool | None = Field(default=None, description="false brings a retired field back.")


class ReorderCustomFieldsBody(Body):
    ids: Annotated[list[str], Field(min_length=1, max_length=100)]


def custom_field_json(field: record_pb.CustomField) -> dict[str, Any]:
    return {
        "id": field.id,
        "key": field.key,
        "label": field.label,
        "type": field.type,
        "options": list(field.options),
        "required": field.required,
        "forms": list(field.forms),
        "position": field.position,
        "retired": field.retired,
    }


def field_list_json(reply: record_pb.ListCustomFieldsResponse) -> dict[str, Any]:
    return {"items": [custom_field_json(f) for f in reply.fields]}


@api.route(
    "GET",
    "/api/v1/custom-fields",
    summary="The business's custom fields, in order",
    tag="custom fields",
    permission="clients.read",
    query=CustomFieldsQuery,
    response=CustomFieldList,
)
async def list_custom_fields(request: web.Request, query: CustomFieldsQuery, account: Account) -> dict[str, Any]:
    reply = await request.app[BACKENDS].custom_fields.ListCustomFields(
        record_pb.ListCustomFieldsRequest(include_retired=query.include_retired, form=query.form)
    )
    return field_list_json(reply)


@api.route(
    "POST",
    "/api/v1/custom-fields",
    summary="Add a custom field",
    tag="custom fields",
    body=CreateCustomFieldBody,
    response=CustomFieldOut,
    status=201,
    permission="settings.manage",
    errors=(409,),
)
async def create_custom_field(request: web.Request, body: CreateCustomFieldBody, account: Account) -> dict[str, Any]:
    created = await request.app[BACKENDS].custom_fields.CreateCustomField(
        record_pb.CreateCustomFieldRequest(**body.model_dump())
    )
    return custom_field_json(created)


@api.route(
    "PUT",
    "/api/v1/custom-fields/order",
    summary="Reorder the custom fields (every live field id, in the wanted order)",
    tag="custom fields",
    body=ReorderCustomFieldsBody,
    response=CustomFieldList,
    permission="settings.manage",
)
async def reorder_custom_fields(
    request: web.Request, body: ReorderCustomFieldsBody, account: Account
) -> dict[str, Any]:
    reply = await request.app[BACKENDS].custom_fields.ReorderCustomFields(
        record_pb.ReorderCustomFieldsRequest(ids=body.ids)
    )
    return field_list_json(reply)


@api.route(
    "PATCH",
    "/api/v1/custom-fields/{field_id}",
    summary="Change a custom field (label, options, required, forms; retired: false brings it back)",
    tag="custom fields",
    body=UpdateCustomFieldBody,
    response=CustomFieldOut,
    permission="settings.manage",
    errors=(409,),
)
async def update_custom_field(request: web.Request, body: UpdateCustomFieldBody, account: Account) -> dict[str, Any]:
    given = body.model_dump(exclude_none=True)
    for name in ("options", "forms"):
        if name in given:
            given[name] = record_pb.StringList(items=given[name])
    updated = await request.app[BACKENDS].custom_fields.UpdateCustomField(
        record_pb.UpdateCustomFieldRequest(id=path_id(request, "field_id", "custom field"), **given)
    )
    return custom_field_json(updated)


@api.route(
    "DELETE",
    "/api/v1/custom-fields/{field_id}",
    summary="Retire a custom field (its stored values are kept and stay readable)",
    tag="custom fields",
    response=CustomFieldOut,
    permission="settings.manage",
)
async def retire_custom_field(request: web.Request, account: Account) -> dict[str, Any]:
    retired = await request.app[BACKENDS].custom_fields.RetireCustomField(
        record_pb.RetireCustomFieldRequest(id=path_id(request, "field_id", "custom field"))
    )
    return custom_field_json(retired)


@api.route(
    "GET",
    "/api/v1/portal/custom-fields",
    summary="The custom fields of your profile form, or of the booking request form (form=booking_request)",
    tag="portal",
    auth="portal",
    query=PortalFormQuery,
    response=CustomFieldList,
)
async def portal_custom_fields(request: web.Request, query: PortalFormQuery, account: Account) -> dict[str, Any]:
    await portal_access(request, account)
    reply = await request.app[BACKENDS].custom_fields.ListCustomFields(
        record_pb.ListCustomFieldsRequest(form=query.form)
    )
    return field_list_json(reply)
