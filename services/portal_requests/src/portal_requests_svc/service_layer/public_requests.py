"""Use cases of the public booking page: a visitor asks (a code is emailed), then confirms with the code.

Nothing but the verification is written before the code is right: no client, no request. A right code makes
the visitor's client (found by the proven email, else created) submit an ordinary pending request through
the portal's own use case, so the online-booking block, the open-request limit and the business's maximum
of active bookings apply exactly as they do in the portal. The verification's id is that submission's
idempotency key, so a retried or concurrent confirmation submits once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from platform_core.errors import Conflict
from platform_core.ids import new_id
from portal_requests_svc.adapters.public_slots import AbstractSlotFinder
from portal_requests_svc.adapters.remote import AbstractCatalogue, AbstractClientDirectory, AbstractScheduler
from portal_requests_svc.adapters.visitor_clients import AbstractVisitorClients, NewClientTerms
from portal_requests_svc.domain.public_requests import PublicRequest, check_visitor, new_code
from portal_requests_svc.domain.requests import AppointmentRequest, TimeOption, check_timezone
from portal_requests_svc.service_layer.handlers import (
    RequestLimits,
    SubmitRequest,
    UowFactory,
    online_service,
    staff_of,
    submit_request,
)
from portal_requests_svc.service_layer.public_unit_of_work import PublicRequestsUnitOfWork

PublicUowFactory = Callable[[], PublicRequestsUnitOfWork]
SLOT_UNAVAILABLE = "SLOT_UNAVAILABLE"  # scheduling's reason for a time that is not free


@dataclass(frozen=True)
class StartPublicRequest:
    tenant_id: uuid.UUID
    service_id: uuid.UUID
    preferred_staff_id: uuid.UUID | None
    start: datetime
    name: str
    email: str
    phone: str
    message: str
    # The visitor's zone (empty: the business's) and language, and the business's name for the email.
    timezone: str
    language: str
    business_name: str
    # Answers to the booking request form by field key, and the business's region to read phone numbers in.
    answers: Mapping[str, Any] = field(default_factory=dict)
    region: str = ""


@dataclass(frozen=True)
class ConfirmPublicRequest:
    tenant_id: uuid.UUID
    verification_id: uuid.UUID
    code: str
    new_client: NewClientTerms


@dataclass(frozen=True)
class PublicRequestPorts:
    """What the public flow needs besides its own unit of work: the portal flow's parts and its own adapters."""

    uow_factory: UowFactory
    directory: AbstractClientDirectory
    catalogue: AbstractCatalogue
    scheduler: AbstractScheduler
    slots: AbstractSlotFinder
    visitors: AbstractVisitorClients
    limits: RequestLimits
    code_ttl: timedelta


async def start_public_request(
    public_uow: PublicUowFactory, ports: PublicRequestPorts, command: StartPublicRequest, now: datetime
) -> PublicRequest:
    visitor = check_visitor(command.name, command.email, command.phone)
    # Told now, on the page, rather than after the visitor has fetched the code: the form is answered whole.
    answers = await ports.directory.check_booking_form(command.answers, command.region)
    service = await online_service(ports.catalogue, command.service_id)
    if command.preferred_staff_id is not None:
        await staff_of(ports.catalogue, service, command.preferred_staff_id, "preferred_staff_id")
    if command.timezone:
        timezone = check_timezone(command.timezone)
    else:
        timezone = (await ports.catalogue.business_terms()).timezone
    verification = PublicRequest.start_verification(
        tenant_id=command.tenant_id,
        verification_id=new_id(),
        visitor=visitor,
        service_id=command.service_id,
        preferred_staff_id=command.preferred_staff_id,
        start=command.start,
        message=command.message,
        timezone=timezone,
        language=command.language,
        business_name=command.business_name,
        code=new_code(),
        now=now,
        ttl=ports.code_ttl,
        horizon=ports.limits.horizon,
        answers=answers,
    )
    # Only a time the page offers now (the slot rules, working hours, bookings), so staff get requests they can
    # approve as asked.
    if not await ports.slots.is_offered(command.service_id, command.preferred_staff_id, verification.start):
        raise Conflict(
            f"{verification.start.isoformat()} is not a free time of this service any more; choose another",
            reason=SLOT_UNAVAILABLE,
        )
    async with public_uow() as uow:
        uow.public_requests.add(verification)
        await uow.commit()
    return verification


async def confirm_public_request(
    public_uow: PublicUowFactory, ports: PublicRequestPorts, command: ConfirmPublicRequest, now: datetime
) -> AppointmentRequest:
    async with public_uow() as uow:
        # Locked while the code is checked: concurrent guesses queue, and each wrong one is counted.
        verification = await uow.public_requests.get(command.tenant_id, command.verification_id)
        if not verification.check_code(command.code, now):
            await uow.commit()
            raise verification.wrong_code_error()
    client_id = verification.client_id or await ports.visitors.client_for(verification.visitor, command.new_client)
    request = await submit_request(
        ports.uow_factory,
        ports.directory,
        ports.catalogue,
        ports.scheduler,
        SubmitRequest(
            tenant_id=command.tenant_id,
            client_id=client_id,
            service_id=verification.service_id,
            preferred_staff_id=verification.preferred_staff_id,
            options=[TimeOption(verification.start)],
            message=verification.message,
            timezone=verification.timezone,
            submission_id=verification.submission_id,
            channel="public",
            answers=verification.answers,
        ),
        ports.limits,
        now,
    )
    async with public_uow() as uow:
        verification = await uow.public_requests.get(command.tenant_id, command.verification_id)
        verification.confirm(request.id, client_id)
        await uow.commit()
    return request
