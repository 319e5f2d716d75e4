"""Use cases of the notification service."""

from __future__ import annotations

from notification_svc.adapters.email_sender import AbstractEmailSender
from notification_svc.adapters.email_templates import EmailTemplates
from notification_svc.domain.emails import (
    OutgoingEmail,
    SendPortalInvitation,
    SentEmail,
    greeting_name,
    message_id_for,
)
from notification_svc.domain.model import ActivityEntry, RecordActivity
from notification_svc.service_layer.unit_of_work import NotificationUnitOfWork
from platform_core.ids import new_id


async def record_activity(cmd: RecordActivity, uow: NotificationUnitOfWork) -> ActivityEntry:
    async with uow:
        entry = ActivityEntry.record(cmd, entry_id=new_id())
        uow.activity.add(entry)
        await uow.commit()
        return entry


async def send_portal_invitation(
    cmd: SendPortalInvitation, uow: NotificationUnitOfWork, templates: EmailTemplates, sender: AbstractEmailSender
) -> bool:
    """Email the invitation link, once per event: the claim is written first, in the same transaction, so a
    redelivered event finds it and sends nothing; a failed send rolls the claim back for the retry."""
    content = templates.render(
        "portal_invitation",
        name=greeting_name(cmd.client_first_name, cmd.client_last_name),
        business_name=cmd.business_name or "Your business",
        accept_url=cmd.accept_url,
        expires_at=cmd.expires_at.strftime("%d %B %Y, %H:%M UTC"),
    )
    email = OutgoingEmail(cmd.email, content.subject, content.text, content.html, message_id_for(cmd.source_event_id))
    async with uow:
        claimed = await uow.emails.claim(
            SentEmail(
                tenant_id=cmd.tenant_id,
                id=new_id(),
                client_id=cmd.client_id,
                kind="portal.invitation",
                to_address=cmd.email,
                subject=email.subject,
                message_id=email.message_id,
                transport=sender.transport,
                source_event_id=cmd.source_event_id,
            )
        )
        if not claimed:
            return False
        await sender.send(email)
        await uow.commit()
        return True
