"""The portal invitation email: rendered from templates, sent once per event, never lost on a failed send."""

import uuid
from datetime import UTC, datetime

import pytest

from notification_svc.adapters.email_sender import mime
from notification_svc.adapters.email_templates import EmailTemplates
from notification_svc.domain.commands import SendPortalInvitation
from notification_svc.domain.emails import OutgoingEmail
from notification_svc.domain.model import attachment_changed_summary, attachment_summary
from notification_svc.service_layer import handlers

from .fakes import FakeEmailSender, FakeUnitOfWork

EXPIRES = datetime(2026, 10, 28, 9, 5, tzinfo=UTC)
LINK = "https://studio.example/portal/accept-invitation#token=abc&x=1"


def invitation(event_id: uuid.UUID, business: str = "Studio <Zen> & Co") -> SendPortalInvitation:
    return SendPortalInvitation(
        tenant_id=uuid.uuid4(),
        client_id=uuid.uuid4(),
        email="ada@example.com",
        accept_url=LINK,
        expires_at=EXPIRES,
        business_name=business,
        client_first_name="Ada",
        client_last_name="Lovelace",
        source_event_id=event_id,
    )


def test_the_invitation_renders_the_link_in_text_and_html_escaping_only_html() -> None:
    content = EmailTemplates().render(
        "portal_invitation", name="Ada", business_name="Studio <Zen> & Co", accept_url=LINK, expires_at="soon"
    )
    assert content.subject == "Studio <Zen> & Co invites you to your client portal"
    assert LINK in content.text and "Studio <Zen> & Co" in content.text
    assert 'href="https://studio.example/portal/accept-invitation#token=abc&amp;x=1"' in content.html
    assert "Studio &lt;Zen&gt; &amp; Co" in content.html


async def test_an_event_delivered_twice_sends_one_email() -> None:
    uow, sender, event_id = FakeUnitOfWork(), FakeEmailSender(), uuid.uuid4()
    uow.email_sender = sender
    assert await handlers.send_portal_invitation(invitation(event_id), uow)
    assert not await handlers.send_portal_invitation(invitation(event_id), uow)
    [sent] = sender.sent
    assert (sent.to, sent.message_id) == ("ada@example.com", f"<{event_id}@atrium.notification>")
    assert "Hello Ada Lovelace," in sent.text and "28 October 2026, 09:05 UTC" in sent.text
    [record] = uow.emails.committed.values()
    assert (record.kind, record.transport, record.to_address) == ("portal.invitation", "smtp", "ada@example.com")


async def test_a_failed_send_records_nothing_so_the_retry_sends() -> None:
    uow, event_id = FakeUnitOfWork(), uuid.uuid4()
    uow.email_sender = FakeEmailSender(fail=True)
    with pytest.raises(ConnectionError):
        await handlers.send_portal_invitation(invitation(event_id), uow)
    assert uow.emails.committed == {}
    uow.email_sender = retry = FakeEmailSender()
    assert await handlers.send_portal_invitation(invitation(event_id), uow)
    assert len(retry.sent) == 1


def test_the_mime_message_has_both_parts_and_the_stable_message_id() -> None:
    email = OutgoingEmail("ada@example.com", "Subject", "plain", "<p>html</p>", "<id@atrium.notification>")
    message = mime(email, "Atrium <no-reply@example.com>")
    assert message["Message-ID"] == "<id@atrium.notification>"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]


def test_attachment_summaries() -> None:
    assert attachment_summary("added", "scan.pdf", shared=True) == "File scan.pdf added, shared with the client"
    assert attachment_changed_summary("scan.pdf", ["shared_with_client"], shared=False) == (
        "File scan.pdf no longer shared with the client"
    )
    assert attachment_changed_summary("new.pdf", ["filename"], shared=False) == "File renamed to new.pdf"
