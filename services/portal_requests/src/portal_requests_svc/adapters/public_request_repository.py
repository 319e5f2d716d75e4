"""Public booking page requests in PostgreSQL (Core queries).

A verification is read FOR UPDATE when a code is checked, so concurrent guesses queue and each is counted.
"""

from __future__ import annotations

import abc
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from platform_core.errors import NotFound
from portal_requests_svc.adapters.tables import public_requests
from portal_requests_svc.domain.public_requests import (
    PublicRequest,
    VerificationStatus,
    Visitor,
)

p = public_requests.c


def _from_row(row: Any) -> PublicRequest:
    return PublicRequest(
        tenant_id=row.tenant_id,
        id=row.id,
        visitor=Visitor(row.name, row.email, row.phone),
        service_id=row.service_id,
        preferred_staff_id=row.preferred_staff_id,
        start=row.start_at,
        message=row.message,
        timezone=row.timezone,
        language=row.language,
        code_hash=bytes(row.code_hash),
        answers=dict(row.answers),
        expires_at=row.expires_at,
        created_at=row.created_at,
        wrong_codes=row.wrong_codes,
        status=VerificationStatus(row.status),
        request_id=row.request_id,
        client_id=row.client_id,
    )


class AbstractPublicRequestRepository(abc.ABC):
    def __init__(self) -> None:
        self.seen: set[PublicRequest] = set()

    def add(self, verification: PublicRequest) -> None:
        self.seen.add(verification)

    async def get(self, tenant_id: uuid.UUID, verification_id: uuid.UUID) -> PublicRequest:
        """The verification, locked for this transaction (a code is checked against it)."""
        found = await self._get(tenant_id, verification_id)
        if found is None:
            raise NotFound("public request not found")
        self.seen.add(found)
        return found

    @abc.abstractmethod
    async def _get(self, tenant_id: uuid.UUID, verification_id: uuid.UUID) -> PublicRequest | None: ...

    @abc.abstractmethod
    async def save(self, verification: PublicRequest) -> None: ...

    @abc.abstractmethod
    async def purge(self, before: datetime, limit: int) -> int:
        """Delete up to ``limit`` public requests made before ``before`` (any business's, confirmed or not; those
        another transaction holds are skipped, so replicas share the work); returns how many."""


class SqlAlchemyPublicRequestRepository(AbstractPublicRequestRepository):
    def __init__(self, session: AsyncSession) -> None:
        super().__init__()
        self._session = session

    async def _get(self, tenant_id: uuid.UUID, verification_id: uuid.UUID) -> PublicRequest | None:
        row = (
            await self._session.execute(
                select(public_requests).where(p.tenant_id == tenant_id, p.id == verification_id).with_for_update()
            )
        ).one_or_none()
        return _from_row(row) if row is not None else None

    async def purge(self, before: datetime, limit: int) -> int:
        deleted = await self._session.execute(
            text(
                "DELETE FROM public_requests WHERE (tenant_id, id) IN ("
                "SELECT tenant_id, id FROM public_requests WHERE created_at < :before "
                "ORDER BY created_at LIMIT :n FOR UPDATE SKIP LOCKED)"
            ),
            {"before": before, "n": limit},
        )
        return int(deleted.rowcount or 0)  # type: ignore[attr-defined]

    async def save(self, verification: PublicRequest) -> None:
        if verification.is_new:
            await self._session.execute(
                insert(public_requests).values(
                    tenant_id=verification.tenant_id,
                    id=verification.id,
                    name=verification.visitor.name,
                    email=verification.visitor.email,
                    phone=verification.visitor.phone,
                    service_id=verification.service_id,
                    preferred_staff_id=verification.preferred_staff_id,
                    start_at=verification.start,
                    message=verification.message,
                    timezone=verification.timezone,
                    language=verification.language,
                    code_hash=verification.code_hash,
                    answers=verification.answers,
                    expires_at=verification.expires_at,
                    wrong_codes=verification.wrong_codes,
                    status=verification.status.value,
                    created_at=verification.created_at,
                )
            )
            verification.is_new = False
            return
        await self._session.execute(
            update(public_requests)
            .where(p.tenant_id == verification.tenant_id, p.id == verification.id)
            .values(
                wrong_codes=verification.wrong_codes,
                status=verification.status.value,
                request_id=verification.request_id,
                client_id=verification.client_id,
            )
        )
