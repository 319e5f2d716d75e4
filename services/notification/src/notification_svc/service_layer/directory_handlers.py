"""Use cases that keep the local copies of who messages go to, from events: clients' contact facts (client
service), staff members and the business profile (gateway). Each keeps the newest fact by event time."""

from __future__ import annotations

from notification_svc.domain import commands
from notification_svc.service_layer.unit_of_work import NotificationUnitOfWork


async def keep_client_contacts(cmd: commands.KeepClientContacts, uow: NotificationUnitOfWork) -> None:
    async with uow:
        await uow.directory.keep_contacts(cmd.tenant_id, cmd.contacts)
        await uow.commit()


async def forget_client_contact(cmd: commands.ForgetClientContact, uow: NotificationUnitOfWork) -> None:
    """An erased client: nothing left to write to, and its messages keep no address or content."""
    async with uow:
        await uow.directory.forget_contact(cmd.tenant_id, cmd.client_id, cmd.occurred_at)
        await uow.messages.forget_client(cmd.tenant_id, cmd.client_id, cmd.occurred_at)
        await uow.commit()


async def keep_staff_member(cmd: commands.KeepStaffMember, uow: NotificationUnitOfWork) -> None:
    async with uow:
        await uow.directory.keep_staff(cmd.tenant_id, cmd.member, cmd.occurred_at)
        await uow.commit()


async def keep_business_profile(cmd: commands.KeepBusinessProfile, uow: NotificationUnitOfWork) -> None:
    async with uow:
        await uow.directory.keep_business(cmd.tenant_id, cmd.profile, cmd.occurred_at)
        await uow.commit()
