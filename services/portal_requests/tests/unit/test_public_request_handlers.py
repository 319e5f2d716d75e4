"""The public booking page's use cases through the fake unit of work: nothing but the verification is written
before the code is right; the right code makes the visitor's client submit an ordinary request, once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from platform_core.errors import Conflict, InvalidArgument
from portal_requests_svc.domain import commands
from portal_requests_svc.domain.public_requests import (
    NewClientTerms,
    PublicRequest,
    PublicRequestVerificationRequested,
    VerificationStatus,
)
from portal_requests_svc.domain.requests import Status
from portal_requests_svc.service_layer import public_request_handlers

from .fakes import ANNA, NOW, SERVICE, TENANT, FakeSlotFinder, FakeUnitOfWork

START = NOW + timedelta(days=2, hours=1)
TERMS = NewClientTerms("DE", 500)


def asked(**changes: object) -> commands.StartPublicRequest:
    values: dict[str, object] = {
        "tenant_id": TENANT,
        "service_id": SERVICE,
        "preferred_staff_id": ANNA,
        "start": START,
        "name": "Ada Lovelace",
        "email": "Ada@Example.com",
        "phone": "",
        "message": "Trim, please",
        "timezone": "",
        "language": "en",
        "business_name": "Salon",
        "now": NOW,
    }
    return commands.StartPublicRequest(**(values | changes))  # type: ignore[arg-type]


async def started(uow: FakeUnitOfWork) -> tuple[PublicRequest, str]:
    """A verification and the code its event emails."""
    verification = await public_request_handlers.start_public_request(asked(), uow)
    (event,) = [e for e in uow.published if isinstance(e, PublicRequestVerificationRequested)]
    return verification, event.code


def confirmation(verification: PublicRequest, code: str) -> commands.ConfirmPublicRequest:
    return commands.ConfirmPublicRequest(TENANT, verification.id, code, TERMS, NOW + timedelta(minutes=1))


async def test_asking_writes_the_verification_only_and_emails_its_code() -> None:
    uow = FakeUnitOfWork()
    verification, code = await started(uow)
    assert uow.verifications[verification.id].status is VerificationStatus.PENDING
    assert verification.timezone == "America/New_York"  # the business's, as the visitor named none
    assert (len(code), verification.expires_at) == (6, NOW + uow.limits.code_ttl)
    assert uow.stored == {} and uow.visitors.created == []


async def test_a_time_the_page_no_longer_offers_or_a_bad_visitor_writes_nothing() -> None:
    uow = FakeUnitOfWork().using(slot_finder=FakeSlotFinder(taken=[START]))
    with pytest.raises(Conflict) as refused:
        await public_request_handlers.start_public_request(asked(), uow)
    assert refused.value.reason == public_request_handlers.SLOT_UNAVAILABLE
    with pytest.raises(InvalidArgument) as invalid:
        await public_request_handlers.start_public_request(asked(start=START + timedelta(hours=1), email="x"), uow)
    assert [v.field for v in invalid.value.violations] == ["email"]
    assert uow.verifications == {} and uow.published == []


async def test_the_right_code_submits_one_public_request_for_the_visitors_client() -> None:
    uow = FakeUnitOfWork()
    verification, code = await started(uow)
    with pytest.raises(InvalidArgument) as wrong:
        await public_request_handlers.confirm_public_request(confirmation(verification, "000000"), uow)
    assert [v.field for v in wrong.value.violations] == ["code"]
    assert uow.verifications[verification.id].wrong_codes == 1 and uow.stored == {}

    request = await public_request_handlers.confirm_public_request(confirmation(verification, code), uow)
    ((visitor, terms),) = uow.visitors.created
    assert (visitor.email, terms) == ("ada@example.com", TERMS)
    assert (request.status, request.channel, request.options[0].start) == (Status.PENDING, "public", START)
    confirmed = uow.verifications[verification.id]
    assert (confirmed.status, confirmed.request_id, confirmed.client_id) == (
        VerificationStatus.CONFIRMED,
        request.id,
        request.client_id,
    )
    # A retried confirmation finds the request it made: one request, one client.
    again = await public_request_handlers.confirm_public_request(confirmation(verification, code), uow)
    assert again.id == request.id and list(uow.stored) == [request.id]
    assert len(uow.visitors.created) == 1


async def test_old_public_requests_are_purged_batch_by_batch() -> None:
    uow = FakeUnitOfWork()
    for hour in (1, 2, 3):
        await public_request_handlers.start_public_request(asked(start=START + timedelta(hours=hour)), uow)
    purge = commands.PurgePublicRequests(before=NOW + timedelta(seconds=1), batch=2)
    assert await public_request_handlers.purge_public_requests(purge, uow) == 2
    assert await public_request_handlers.purge_public_requests(purge, uow) == 1
    assert uow.verifications == {}
    assert await public_request_handlers.purge_public_requests(commands.PurgePublicRequests(NOW, 2), uow) == 0
