"""Which sender the settings choose: SMTP with a host, log-only without (development), none in production."""

import pytest
from pydantic import ValidationError

from notification_svc.adapters.email_sender import LogEmailSender, SmtpEmailSender
from notification_svc.bootstrap import email_sender
from notification_svc.config import NotificationSettings

DB = "postgresql://u:p@localhost/n"


def settings(**values: object) -> NotificationSettings:
    return NotificationSettings(notification_database_url=DB, **values)  # type: ignore[arg-type]


def test_without_a_host_emails_are_logged_and_with_one_sent_over_smtp() -> None:
    assert isinstance(email_sender(settings()), LogEmailSender)
    assert isinstance(email_sender(settings(smtp_host="mail.example.com", smtp_port=587)), SmtpEmailSender)


@pytest.mark.parametrize(
    "values", [{"env": "production"}, {"smtp_host": "mail.example.com", "smtp_starttls": True, "smtp_tls": True}]
)
def test_production_needs_a_host_and_tls_is_one_or_the_other(values: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        settings(**values)
