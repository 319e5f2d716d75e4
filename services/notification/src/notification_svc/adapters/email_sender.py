"""Sending email: over SMTP (aiosmtplib), or only logged when no SMTP server is configured."""

from __future__ import annotations

import abc
import logging
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

import aiosmtplib

from notification_svc.domain.emails import OutgoingEmail

log = logging.getLogger(__name__)


# Headers are folded only past RFC 5322's line limit: a long List-Unsubscribe address stays one plain URL
# (folding it would turn it into encoded words mail programs do not follow).
MIME_POLICY = policy.SMTP.clone(max_line_length=998)


def mime(email: OutgoingEmail, sender: str) -> EmailMessage:
    message = EmailMessage(policy=MIME_POLICY)
    message["From"] = sender
    message["To"] = email.to
    message["Subject"] = email.subject
    message["Message-ID"] = email.message_id
    message["Date"] = formatdate(localtime=False)
    for name, value in email.headers:
        message[name] = value
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    for attachment in email.attachments:
        maintype, _, rest = attachment.content_type.partition("/")
        subtype, *params = (p.strip() for p in rest.split(";"))
        message.add_attachment(
            attachment.content,
            maintype=maintype,
            subtype=subtype,
            filename=attachment.filename,
            params=dict(p.split("=", 1) for p in params if "=" in p),
        )
    return message


class AbstractEmailSender(abc.ABC):
    transport: str

    @abc.abstractmethod
    async def send(self, email: OutgoingEmail) -> None:
        """Hand the email over for delivery; raises when it could not be."""


class SmtpEmailSender(AbstractEmailSender):
    transport = "smtp"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str = "",
        password: str = "",
        starttls: bool = False,
        tls: bool = False,
        timeout: float = 30.0,
    ) -> None:
        self._host, self._port, self._sender = host, port, sender
        self._username, self._password = username or None, password or None
        self._starttls, self._tls, self._timeout = starttls, tls, timeout

    async def send(self, email: OutgoingEmail) -> None:
        # Flattened here with our policy (aiosmtplib would fold long headers at 78 characters).
        await aiosmtplib.send(
            mime(email, self._sender).as_bytes(policy=MIME_POLICY),
            sender=parseaddr(self._sender)[1],
            recipients=[email.to],
            hostname=self._host,
            port=self._port,
            username=self._username,
            password=self._password,
            start_tls=self._starttls,
            use_tls=self._tls,
            timeout=self._timeout,
        )


class LogEmailSender(AbstractEmailSender):
    """Development without a mail server: the email is logged (link included), not sent."""

    transport = "log"

    def __init__(self, sender: str) -> None:
        self._sender = sender

    async def send(self, email: OutgoingEmail) -> None:
        log.info("email not sent (no ATRIUM_SMTP_HOST): to=%s subject=%r\n%s", email.to, email.subject, email.text)
