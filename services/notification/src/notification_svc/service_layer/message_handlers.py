"""Use cases of messages already planned: resend one, mark in-app notices read, record a provider's delivery
report."""

from __future__ import annotations

from notification_svc.domain import commands
from notification_svc.service_layer.unit_of_work import NotificationUnitOfWork


async def resend_message(cmd: commands.ResendMessage, uow: NotificationUnitOfWork) -> bool:
    """False when the message is neither failed nor skipped (or not the tenant's)."""
    async with uow:
        done = await uow.messages.resend(cmd.tenant_id, cmd.message_id, cmd.now)
        await uow.commit()
        return done


async def mark_notifications_read(cmd: commands.MarkNotificationsRead, uow: NotificationUnitOfWork) -> int:
    async with uow:
        marked = await uow.messages.mark_read(
            cmd.tenant_id, cmd.audience, cmd.recipient_id, cmd.notification_id, cmd.now
        )
        await uow.commit()
        return marked


async def record_provider_report(cmd: commands.RecordProviderReport, uow: NotificationUnitOfWork) -> bool:
    async with uow:
        recorded = await uow.messages.provider_report(cmd.tenant_id, cmd.provider_id, cmd.status, cmd.error, cmd.now)
        await uow.commit()
        return recorded
