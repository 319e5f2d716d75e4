"""The Client aggregate (first slice: identity and contact details)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from client_svc.domain import commands, events
from client_svc.domain.contact import ContactError, normalize_email, normalize_phone, normalize_region
from platform_core.errors import FieldViolation, InvalidArgument

MAX_NAME_LENGTH = 100
MAX_REQUEST_ID_LENGTH = 200


@dataclass(eq=False)
class Client:
    tenant_id: uuid.UUID
    id: uuid.UUID
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    created_at: datetime
    updated_at: datetime
    request_id: str | None = None
    events: list[Any] = field(default_factory=list, repr=False)

    @classmethod
    def register(cls, cmd: commands.CreateClient, *, client_id: uuid.UUID, now: datetime) -> Client:
        """A new client from what staff typed; every broken rule is reported at once, by field."""
        violations: list[FieldViolation] = []
        first_name = cmd.first_name.strip()
        last_name = cmd.last_name.strip()
        if not first_name:
            violations.append(FieldViolation("first_name", "is required"))
        elif len(first_name) > MAX_NAME_LENGTH:
            violations.append(FieldViolation("first_name", f"must be at most {MAX_NAME_LENGTH} characters"))
        if len(last_name) > MAX_NAME_LENGTH:
            violations.append(FieldViolation("last_name", f"must be at most {MAX_NAME_LENGTH} characters"))
        if len(cmd.request_id) > MAX_REQUEST_ID_LENGTH:
            violations.append(FieldViolation("request_id", f"must be at most {MAX_REQUEST_ID_LENGTH} characters"))

        email = None
        if cmd.email.strip():
            try:
                email = normalize_email(cmd.email)
            except ContactError as exc:
                violations.append(FieldViolation("email", str(exc)))
        region = None
        try:
            region = normalize_region(cmd.default_region)
        except ContactError as exc:
            violations.append(FieldViolation("default_region", str(exc)))
        phone = None
        if cmd.phone.strip():
            try:
                phone = normalize_phone(cmd.phone, region)
            except ContactError as exc:
                violations.append(FieldViolation("phone", str(exc)))
        if violations:
            raise InvalidArgument(violations)

        client = cls(
            tenant_id=cmd.tenant_id,
            id=client_id,
            first_name=first_name,
            last_name=last_name,
            email=email,
            phone=phone,
            created_at=now,
            updated_at=now,
            request_id=cmd.request_id or None,
        )
        client.events.append(
            events.ClientCreated(
                tenant_id=client.tenant_id,
                client_id=client.id,
                first_name=client.first_name,
                last_name=client.last_name,
                email=client.email,
                phone=client.phone,
                occurred_at=now,
            )
        )
        return client
