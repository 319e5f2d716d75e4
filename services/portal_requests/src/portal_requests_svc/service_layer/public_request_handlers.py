"""Use cases of the public booking page: a visitor asks (a code is emailed), then confirms with the code.

Nothing but the verification is written before the code is right: no client, no request. A right code makes
the visitor's client (found by the proven email, else created) submit an ordinary pending request through
the portal's own use case, so the online-booking block, the open-request limit and the business's maximum
of active bookings apply exactly as they do in the portal. The verification's id is that submission's
idempotency key, so a retried or concurrent confirmation submits once.
"""

from __future__ import annotations

from platform_core.errors import Conflict
from platform_core.ids import new_id
from portal_requests_svc.domain import commands
from portal_requests_svc.domain.public_requests import PublicRequest, check_visitor, new_code
from portal_requests_svc.domain.requests import AppointmentRequest, TimeOption, check_timezone
from portal_requests_svc.service_layer.handlers import _online_service, _staff_of, submit_request
from portal_requests_svc.service_layer.unit_of_work import PortalRequestsUnitOfWork

SLOT_UNAVAILABLE = "SLOT_UNAVAILABLE"  # scheduling's reason for a time that is not free


async def start_public_request(cmd: commands.StartPublicRequest, uow: PortalRequestsUnitOfWork) -> PublicRequest:
    visitor = check_visitor(cmd.name, cmd.email, cmd.phone)
    # Told now, on the page, rather than after the visitor has fetched the code: the form is answered whole.
    answers = await uow.client_directory.check_booking_form(cmd.answers, cmd.region)
    service = await _online_service(uow.catalogue, cmd.service_id)
    if cmd.preferred_staff_id is not None:
        await _staff_of(uow.catalogue, service, cmd.preferred_staff_id, "preferred_staff_id")
    if cmd.timezone:
        timezone = check_timezone(cmd.timezone)
    else:
        timezone = (await uow.catalogue.business_terms()).timezone
    verification = PublicRequest.start_verification(
        tenant_id=cmd.tenant_id,
        verification_id=new_id(),
        visitor=visitor,
        service_id=cmd.service_id,
        preferred_staff_id=cmd.preferred_staff_id,
        start=cmd.start,
        message=cmd.message,
        timezone=timezone,
        language=cmd.language,
        business_name=cmd.business_name,
        code=new_code(),
        now=cmd.now,
        ttl=uow.limits.code_ttl,
        horizon=uow.limits.horizon,
        answers=answers,
    )
    # Only a time the page offers now (the slot rules, working hours, bookings), so staff get requests they can
    # approve as asked.
    if not await uow.slot_finder.is_offered(cmd.service_id, cmd.preferred_staff_id, verification.start):
        raise Conflict(
            f"{verification.start.isoformat()} is not a free time of this service any more; choose another",
            reason=SLOT_UNAVAILABLE,
        )
    async with uow:
        uow.public_requests.add(verification)
        await uow.commit()
    return verification


async def confirm_public_request(
    cmd: commands.ConfirmPublicRequest, uow: PortalRequestsUnitOfWork
) -> AppointmentRequest:
    async with uow:
        # Locked while the code is checked: concurrent guesses queue, and each wrong one is counted.
        verification = await uow.public_requests.get(cmd.tenant_id, cmd.verification_id)
        if not verification.check_code(cmd.code, cmd.now):
            await uow.commit()
            raise verification.wrong_code_error()
    client_id = verification.client_id or await uow.visitor_clients.client_for(verification.visitor, cmd.new_client)
    request = await submit_request(
        commands.SubmitRequest(
            tenant_id=cmd.tenant_id,
            client_id=client_id,
            service_id=verification.service_id,
            preferred_staff_id=verification.preferred_staff_id,
            options=[TimeOption(verification.start)],
            message=verification.message,
            timezone=verification.timezone,
            submission_id=verification.submission_id,
            now=cmd.now,
            channel="public",
            answers=verification.answers,
        ),
        uow,
    )
    async with uow:
        verification = await uow.public_requests.get(cmd.tenant_id, cmd.verification_id)
        verification.confirm(request.id, client_id)
        await uow.commit()
    return request


async def purge_public_requests(cmd: commands.PurgePublicRequests, uow: PortalRequestsUnitOfWork) -> int:
    """Forget one batch of public requests made before ``cmd.before``: what a visitor typed is kept only as long
    as it can matter (a confirmed one lives on as its ordinary request). Returns how many."""
    async with uow:
        purged = await uow.public_requests.purge(cmd.before, cmd.batch)
        await uow.commit()
    return purged
