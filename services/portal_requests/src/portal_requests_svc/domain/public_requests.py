"""A visitor's request from a business's public booking page, waiting for the one-time code emailed to them.

The visitor has no account, so the email address is the only thing that ties them to a client record; it is
proven by a code sent there. Only a hash of the code is kept (the event that carries it to the mailer lives
days in the stream, the code minutes). Wrong codes are counted: the fifth locks the verification for good, so
even the right code fails afterwards. Once the code is right the request becomes an ordinary pending one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from platform_core.errors import FailedPrecondition, FieldViolation, InvalidArgument
from portal_requests_svc.domain.requests import MAX_MESSAGE_LENGTH, TimeOption, check_options, check_text

CODE_DIGITS = 6
MAX_WRONG_CODES = 5
MAX_NAME_LENGTH = 200
MAX_EMAIL_LENGTH = 320
MAX_PHONE_LENGTH = 40
CODE_EXPIRED = "CODE_EXPIRED"
VERIFICATION_LOCKED = "VERIFICATION_LOCKED"


class VerificationStatus(StrEnum):
    PENDING = "pending"  # waiting for the code
    CONFIRMED = "confirmed"  # the code was right: the request was submitted
    LOCKED = "locked"  # too many wrong codes: nothing can confirm it any more


@dataclass(frozen=True)
class PublicRequestVerificationRequested:
    """The code to email (the only place it exists in the clear)."""

    tenant_id: uuid.UUID
    verification_id: uuid.UUID
    email: str
    name: str
    code: str
    expires_at: datetime
    business_name: str
    language: str
    occurred_at: datetime


@dataclass(frozen=True)
class Visitor:
    name: str
    email: str
    phone: str


@dataclass(frozen=True)
class NewClientTerms:
    """What the business says about new clients: its region (national phone numbers) and plan limit."""

    default_region: str
    max_clients: int


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def code_hash(verification_id: uuid.UUID, code: str) -> bytes:
    """SHA-256 of the code, salted with its verification's id (equal codes of two visitors hash apart)."""
    return hashlib.sha256(f"{verification_id}:{code}".encode()).digest()


def check_visitor(name: str, email: str, phone: str) -> Visitor:
    checked_name = check_text(name, "name", MAX_NAME_LENGTH, required=True)
    checked_email = check_text(email, "email", MAX_EMAIL_LENGTH, required=True).lower()
    if "@" not in checked_email:
        raise InvalidArgument.single("email", "is not an email address")
    return Visitor(checked_name, checked_email, check_text(phone, "phone", MAX_PHONE_LENGTH))


@dataclass(eq=False)
class PublicRequest:
    """What the visitor asked for and the state of the code that proves their address."""

    tenant_id: uuid.UUID
    id: uuid.UUID
    visitor: Visitor
    service_id: uuid.UUID
    preferred_staff_id: uuid.UUID | None
    start: datetime
    message: str
    timezone: str
    language: str
    code_hash: bytes
    expires_at: datetime
    created_at: datetime
    # The booking request form's answers by field key (checked by the client service when asked), for the
    # client record once the code is right.
    answers: dict[str, Any] = field(default_factory=dict)
    wrong_codes: int = 0
    status: VerificationStatus = VerificationStatus.PENDING
    request_id: uuid.UUID | None = None
    client_id: uuid.UUID | None = None
    events: list[Any] = field(default_factory=list)
    is_new: bool = False

    @classmethod
    def start_verification(
        cls,
        *,
        tenant_id: uuid.UUID,
        verification_id: uuid.UUID,
        visitor: Visitor,
        service_id: uuid.UUID,
        preferred_staff_id: uuid.UUID | None,
        start: datetime,
        message: str,
        timezone: str,
        language: str,
        business_name: str,
        code: str,
        now: datetime,
        ttl: timedelta,
        horizon: timedelta,
        answers: dict[str, Any] | None = None,
    ) -> PublicRequest:
        try:
            (option,) = check_options([TimeOption(start)], now, horizon)
        except InvalidArgument as exc:
            # The portal's rule names options[0].start; a public request has one time, called start.
            raise InvalidArgument([FieldViolation("start", v.message) for v in exc.violations], exc.message) from None
        verification = cls(
            tenant_id=tenant_id,
            id=verification_id,
            visitor=visitor,
            service_id=service_id,
            preferred_staff_id=preferred_staff_id,
            start=option.start,
            message=check_text(message, "description", MAX_MESSAGE_LENGTH),
            timezone=timezone,
            language=language,
            code_hash=code_hash(verification_id, code),
            answers=dict(answers or {}),
            expires_at=now + ttl,
            created_at=now,
            is_new=True,
        )
        verification.events.append(
            PublicRequestVerificationRequested(
                tenant_id=tenant_id,
                verification_id=verification_id,
                email=visitor.email,
                name=visitor.name,
                code=code,
                expires_at=verification.expires_at,
                business_name=business_name,
                language=language,
                occurred_at=now,
            )
        )
        return verification

    def check_code(self, code: str, now: datetime) -> bool:
        """Whether ``code`` proves the address. A wrong one is counted (the fifth locks the verification); a
        locked or expired verification refuses every code, the right one too. A confirmed one takes its code
        again (a retried confirmation finds the request it made)."""
        right = hmac.compare_digest(code_hash(self.id, code), self.code_hash)
        if self.status is VerificationStatus.CONFIRMED:
            return right
        if self.status is VerificationStatus.LOCKED:
            raise FailedPrecondition(
                "too many wrong codes were entered; send the request again for a new code", reason=VERIFICATION_LOCKED
            )
        if now >= self.expires_at:
            raise FailedPrecondition("the code has expired; send the request again for a new one", reason=CODE_EXPIRED)
        if right:
            return True
        self.wrong_codes += 1
        if self.wrong_codes >= MAX_WRONG_CODES:
            self.status = VerificationStatus.LOCKED
        return False

    @property
    def codes_left(self) -> int:
        return 0 if self.status is VerificationStatus.LOCKED else MAX_WRONG_CODES - self.wrong_codes

    def wrong_code_error(self) -> InvalidArgument:
        if self.status is VerificationStatus.LOCKED:
            return InvalidArgument.single("code", "is wrong; that was the last try, send the request again")
        return InvalidArgument.single("code", f"is wrong; {self.codes_left} tries left")

    def confirm(self, request_id: uuid.UUID, client_id: uuid.UUID) -> None:
        """Record the request the right code made. Wrong guesses racing it may have locked the verification
        meanwhile; the request stands (its code was right) and the verification stays as it is."""
        if self.status is not VerificationStatus.PENDING:
            return
        self.status = VerificationStatus.CONFIRMED
        self.request_id = request_id
        self.client_id = client_id

    @property
    def submission_id(self) -> str:
        """The portal flow's idempotency key for the request this makes: a retried confirmation submits once."""
        return f"public:{self.id}"
