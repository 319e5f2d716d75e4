"""The public booking page's code: emailed once, kept only as a hash, expires, and locks after five wrong tries."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from platform_core.errors import FailedPrecondition, InvalidArgument
from portal_requests_svc.domain.public_requests import (
    CODE_EXPIRED,
    MAX_WRONG_CODES,
    VERIFICATION_LOCKED,
    PublicRequest,
    PublicRequestVerificationRequested,
    VerificationStatus,
    check_visitor,
    code_hash,
    new_code,
)

NOW = datetime(2030, 3, 1, 9, 0, tzinfo=UTC)
TTL = timedelta(minutes=10)


def verification(code: str = "123456", *, start: datetime | None = None) -> PublicRequest:
    return PublicRequest.start_verification(
        tenant_id=uuid.uuid4(),
        verification_id=uuid.uuid4(),
        visitor=check_visitor("  Ada Lovelace ", "Ada@Example.com", "+4930123456"),
        service_id=uuid.uuid4(),
        preferred_staff_id=None,
        start=start or NOW + timedelta(days=2),
        message="Trim, please",
        timezone="Europe/Berlin",
        language="de",
        business_name="Salon",
        code=code,
        now=NOW,
        ttl=TTL,
        horizon=timedelta(days=365),
    )


def test_the_code_goes_out_in_the_event_and_only_its_hash_is_kept() -> None:
    v = verification("654321")
    (event,) = v.events
    assert isinstance(event, PublicRequestVerificationRequested)
    assert (event.code, event.email, event.name, event.expires_at) == (
        "654321",
        "ada@example.com",
        "Ada Lovelace",
        NOW + TTL,
    )
    assert v.code_hash == code_hash(v.id, "654321") and b"654321" not in v.code_hash
    # Salted with the verification: the same code of another visitor hashes apart.
    assert code_hash(uuid.uuid4(), "654321") != v.code_hash


def test_new_codes_are_six_digits() -> None:
    codes = {new_code() for _ in range(200)}
    assert all(len(c) == 6 and c.isdigit() for c in codes) and len(codes) > 150


def test_the_right_code_is_taken_until_it_expires() -> None:
    assert verification("111111").check_code("111111", NOW + TTL - timedelta(seconds=1))
    with pytest.raises(FailedPrecondition) as exc:
        verification("111111").check_code("111111", NOW + TTL)
    assert exc.value.reason == CODE_EXPIRED


def test_the_fifth_wrong_code_locks_and_then_even_the_right_code_fails() -> None:
    v = verification("222222")
    for tries_left in range(MAX_WRONG_CODES - 1, 0, -1):
        assert not v.check_code("999999", NOW)
        assert v.status is VerificationStatus.PENDING and v.codes_left == tries_left
        assert f"{tries_left} tries left" in v.wrong_code_error().violations[0].message
    assert not v.check_code("999999", NOW)
    assert v.status is VerificationStatus.LOCKED and v.wrong_codes == MAX_WRONG_CODES
    assert v.wrong_code_error().violations[0].field == "code"
    with pytest.raises(FailedPrecondition) as exc:
        v.check_code("222222", NOW)
    assert exc.value.reason == VERIFICATION_LOCKED
    assert v.wrong_codes == MAX_WRONG_CODES  # a refused try is not counted


def test_a_confirmed_verification_takes_its_code_again_and_counts_nothing() -> None:
    v = verification("333333")
    assert v.check_code("333333", NOW)
    request_id, client_id = uuid.uuid4(), uuid.uuid4()
    v.confirm(request_id, client_id)
    assert (v.status, v.request_id, v.client_id) == (VerificationStatus.CONFIRMED, request_id, client_id)
    # A retried confirmation, after the code's lifetime too, finds the request it made.
    assert v.check_code("333333", NOW + TTL * 10)
    assert not v.check_code("000000", NOW) and v.wrong_codes == 0
    v.confirm(uuid.uuid4(), uuid.uuid4())
    assert v.request_id == request_id


def test_a_locked_verification_stays_locked_when_a_racing_right_code_confirms() -> None:
    v = verification("444444")
    for _ in range(MAX_WRONG_CODES):
        v.check_code("000000", NOW)
    v.confirm(uuid.uuid4(), uuid.uuid4())
    assert v.status is VerificationStatus.LOCKED and v.request_id is None


def test_the_visitor_and_the_time_are_checked_naming_the_field() -> None:
    with pytest.raises(InvalidArgument) as exc:
        check_visitor(" ", "a@b.example", "")
    assert exc.value.violations[0].field == "name"
    with pytest.raises(InvalidArgument) as exc:
        check_visitor("Ada", "not-an-address", "")
    assert exc.value.violations[0].field == "email"
    with pytest.raises(InvalidArgument) as exc:
        verification(start=NOW - timedelta(minutes=1))
    assert [v.field for v in exc.value.violations] == ["start"]
