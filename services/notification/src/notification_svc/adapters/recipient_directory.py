"""The local copies of what messages need, kept from events: clients' contact facts (client service),
staff members and the business profile (gateway). Each upsert keeps the newest fact by event time, so a
redelivered older event cannot overwrite a newer one."""

from __future__ import annotations

import abc
import uuid
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from notification_svc.domain.audience import BusinessProfile, ClientContact, StaffMember


class AbstractRecipientDirectory(abc.ABC):
    async def keep_contact(self, tenant_id: uuid.UUID, contact: ClientContact, at: datetime) -> None:
        await self.keep_contacts(tenant_id, [(contact, at)])

    @abc.abstractmethod
    async def keep_contacts(self, tenant_id: uuid.UUID, contacts: Sequence[tuple[ClientContact, datetime]]) -> None:
        """Each contact as of its time, as keeping them one after another would (the newest of a client wins)."""

    @abc.abstractmethod
    async def forget_contact(self, tenant_id: uuid.UUID, client_id: uuid.UUID, at: datetime) -> None:
        """An erased client: nothing left to write to."""

    @abc.abstractmethod
    async def keep_staff(self, tenant_id: uuid.UUID, member: StaffMember, at: datetime) -> None: ...

    @abc.abstractmethod
    async def keep_business(self, tenant_id: uuid.UUID, profile: BusinessProfile, at: datetime) -> None: ...

    @abc.abstractmethod
    async def contacts(
        self, tenant_id: uuid.UUID, client_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, ClientContact]: ...

    @abc.abstractmethod
    async def staff(self, tenant_id: uuid.UUID, staff_ids: Collection[uuid.UUID] = ()) -> list[StaffMember]:
        """The given staff members; all of the business's when none are given."""

    @abc.abstractmethod
    async def business(self, tenant_id: uuid.UUID) -> BusinessProfile: ...


class SqlAlchemyRecipientDirectory(AbstractRecipientDirectory):
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def keep_contacts(self, tenant_id: uuid.UUID, contacts: Sequence[tuple[ClientContact, datetime]]) -> None:
        # One row per client (a statement may not upsert a row twice): its newest, or the later at one time.
        newest: dict[uuid.UUID, tuple[ClientContact, datetime]] = {}
        for contact, at in contacts:
            if contact.client_id not in newest or newest[contact.client_id][1] <= at:
                newest[contact.client_id] = (contact, at)
        if not newest:
            return
        kept = list(newest.values())
        await self.session.execute(
            text(
                """
                INSERT INTO client_contacts (tenant_id, client_id, first_name, last_name, email, phone, language,
                    timezone, updated_at)
                SELECT :t, * FROM unnest(CAST(:c AS uuid[]), CAST(:first AS text[]), CAST(:last AS text[]),
                    CAST(:email AS text[]), CAST(:phone AS text[]), CAST(:language AS text[]),
                    CAST(:timezone AS text[]), CAST(:at AS timestamptz[]))
                ON CONFLICT (tenant_id, client_id) DO UPDATE SET first_name = excluded.first_name,
                    last_name = excluded.last_name, email = excluded.email, phone = excluded.phone,
                    language = excluded.language, timezone = excluded.timezone, updated_at = excluded.updated_at
                WHERE client_contacts.updated_at <= excluded.updated_at
                """
            ),
            {
                "t": tenant_id,
                "c": [c.client_id for c, _ in kept],
                "first": [c.first_name for c, _ in kept],
                "last": [c.last_name for c, _ in kept],
                "email": [c.email for c, _ in kept],
                "phone": [c.phone for c, _ in kept],
                "language": [c.language for c, _ in kept],
                "timezone": [c.timezone for c, _ in kept],
                "at": [at for _, at in kept],
            },
        )

    async def forget_contact(self, tenant_id: uuid.UUID, client_id: uuid.UUID, at: datetime) -> None:
        # A row with nothing in it (dated far ahead): no later event can bring the details back.
        await self.keep_contact(tenant_id, ClientContact(client_id), datetime.max.replace(tzinfo=at.tzinfo))

    async def keep_staff(self, tenant_id: uuid.UUID, member: StaffMember, at: datetime) -> None:
        await self.session.execute(
            text(
                """
                INSERT INTO staff_directory (tenant_id, staff_id, email, name, permissions, active, language,
                    timezone, updated_at)
                VALUES (:t, :s, :email, :name, :permissions, :active, :language, :timezone, :at)
                ON CONFLICT (tenant_id, staff_id) DO UPDATE SET email = excluded.email, name = excluded.name,
                    permissions = excluded.permissions, active = excluded.active, language = excluded.language,
                    timezone = excluded.timezone, updated_at = excluded.updated_at
                WHERE staff_directory.updated_at <= excluded.updated_at
                """
            ),
            {
                "t": tenant_id,
                "s": member.staff_id,
                "email": member.email,
                "name": member.name,
                "permissions": sorted(member.permissions),
                "active": member.active,
                "language": member.language,
                "timezone": member.timezone,
                "at": at,
            },
        )

    async def keep_business(self, tenant_id: uuid.UUID, profile: BusinessProfile, at: datetime) -> None:
        await self.session.execute(
            text(
                """
                INSERT INTO business_profiles (tenant_id, business_name, timezone, language, updated_at)
                VALUES (:t, :name, :timezone, :language, :at)
                ON CONFLICT (tenant_id) DO UPDATE SET business_name = excluded.business_name,
                    timezone = excluded.timezone, language = excluded.language, updated_at = excluded.updated_at
                WHERE business_profiles.updated_at <= excluded.updated_at
                """
            ),
            {
                "t": tenant_id,
                "name": profile.business_name,
                "timezone": profile.timezone,
                "language": profile.language,
                "at": at,
            },
        )

    async def contacts(self, tenant_id: uuid.UUID, client_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, ClientContact]:
        if not client_ids:
            return {}
        rows = await self.session.execute(
            text(
                "SELECT client_id, first_name, last_name, email, phone, language, timezone FROM client_contacts "
                "WHERE tenant_id = :t AND client_id = ANY(:ids)"
            ),
            {"t": tenant_id, "ids": list(client_ids)},
        )
        return {r.client_id: ClientContact(*r) for r in rows}

    async def staff(self, tenant_id: uuid.UUID, staff_ids: Collection[uuid.UUID] = ()) -> list[StaffMember]:
        query = (
            "SELECT staff_id, email, name, permissions, active, language, timezone FROM staff_directory "
            "WHERE tenant_id = :t"
        )
        params: dict[str, object] = {"t": tenant_id}
        if staff_ids:
            query += " AND staff_id = ANY(:ids)"
            params["ids"] = list(staff_ids)
        rows = await self.session.execute(text(query), params)
        return [
            StaffMember(r.staff_id, r.email, r.name, frozenset(r.permissions), r.active, r.language, r.timezone)
            for r in rows
        ]

    async def business(self, tenant_id: uuid.UUID) -> BusinessProfile:
        row = (
            await self.session.execute(
                text("SELECT business_name, timezone, language FROM business_profiles WHERE tenant_id = :t"),
                {"t": tenant_id},
            )
        ).first()
        return BusinessProfile(*row) if row else BusinessProfile()
