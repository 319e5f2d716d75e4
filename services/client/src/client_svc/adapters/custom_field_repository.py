"""The tenant's custom field definitions (a catalogue, like statuses: no events)."""

from __future__ import annotations

import abc
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from client_svc.adapters.tables import client_custom_fields
from client_svc.domain.custom_fields import CustomField, CustomFieldCatalogue


class AbstractCustomFieldRepository(abc.ABC):
    seen: set[Any] = set()

    @abc.abstractmethod
    async def catalogue(self, tenant_id: uuid.UUID) -> CustomFieldCatalogue: ...

    @abc.abstractmethod
    def add(self, definition: CustomField) -> None: ...


class SqlAlchemyCustomFieldRepository(AbstractCustomFieldRepository):
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def catalogue(self, tenant_id: uuid.UUID) -> CustomFieldCatalogue:
        result = await self.session.execute(select(CustomField).where(client_custom_fields.c.tenant_id == tenant_id))
        return CustomFieldCatalogue(tenant_id, list(result.scalars()))

    def add(self, definition: CustomField) -> None:
        self.session.add(definition)
