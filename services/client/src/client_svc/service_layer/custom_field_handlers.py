"""Use cases over the tenant's custom field definitions."""

from __future__ import annotations

from client_svc.domain import commands_custom_fields as commands
from client_svc.domain.contact import ContactError, normalize_region
from client_svc.domain.custom_fields import FORMS, CustomField, Value, read_values
from client_svc.service_layer.unit_of_work import ClientUnitOfWork
from platform_core.errors import InvalidArgument
from platform_core.ids import new_id
from platform_core.validation import Violations


async def list_custom_fields(cmd: commands.ListCustomFields, uow: ClientUnitOfWork) -> list[CustomField]:
    if cmd.form and cmd.form not in FORMS:
        raise InvalidArgument.single("form", f"must be one of {', '.join(FORMS)}")
    async with uow:
        catalogue = await uow.custom_fields.catalogue(cmd.tenant_id)
    fields = catalogue.all() if cmd.include_retired else catalogue.live()
    return [f for f in fields if not cmd.form or cmd.form in f.forms]


async def check_form_answers(cmd: commands.CheckFormAnswers, uow: ClientUnitOfWork) -> dict[str, Value]:
    """The answers to a form as a new client's would be checked (required ones included), and as they would be
    stored, by key; nothing is stored. InvalidArgument names each ``custom_fields.<key>`` refused."""
    if cmd.form not in ("booking_request", "portal_profile"):
        raise InvalidArgument.single("form", "must be booking_request or portal_profile")
    try:
        region = normalize_region(cmd.region)
    except ContactError as exc:
        raise InvalidArgument.single("default_region", str(exc)) from None
    async with uow:
        catalogue = await uow.custom_fields.catalogue(cmd.tenant_id)
    violations = Violations()
    change = read_values(
        catalogue, dict(cmd.answers), form=cmd.form, creating=True, region=region, violations=violations
    )
    violations.raise_if_any()
    return {catalogue.get(field_id).key: value for field_id, value in change.values.items() if value is not None}


async def create_custom_field(cmd: commands.CreateCustomField, uow: ClientUnitOfWork) -> CustomField:
    async with uow:
        catalogue = await uow.custom_fields.catalogue(cmd.tenant_id)
        created = catalogue.create(
            field_id=new_id(),
            label=cmd.label,
            key=cmd.key,
            field_type=cmd.type,
            options=cmd.options,
            required=cmd.required,
            forms=cmd.forms,
            now=cmd.now,
        )
        uow.custom_fields.add(created)
        await uow.commit()
        return created


async def update_custom_field(cmd: commands.UpdateCustomField, uow: ClientUnitOfWork) -> CustomField:
    async with uow:
        catalogue = await uow.custom_fields.catalogue(cmd.tenant_id)
        updated = catalogue.update(
            cmd.field_id,
            label=cmd.label,
            options=cmd.options,
            required=cmd.required,
            forms=cmd.forms,
            retired=cmd.retired,
            now=cmd.now,
        )
        await uow.commit()
        return updated


async def retire_custom_field(cmd: commands.RetireCustomField, uow: ClientUnitOfWork) -> CustomField:
    async with uow:
        catalogue = await uow.custom_fields.catalogue(cmd.tenant_id)
        retired = catalogue.retire(cmd.field_id, now=cmd.now)
        await uow.commit()
        return retired


async def reorder_custom_fields(cmd: commands.ReorderCustomFields, uow: ClientUnitOfWork) -> list[CustomField]:
    async with uow:
        catalogue = await uow.custom_fields.catalogue(cmd.tenant_id)
        ordered = catalogue.reorder(cmd.ids)
        await uow.commit()
        return ordered
