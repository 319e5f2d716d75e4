from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, SecretStr, model_validator

from platform_core.config import ServiceSettings


class NotificationSettings(ServiceSettings):
    unit: ClassVar[str] = "notification"

    # Email over SMTP. No host: log-only mode (messages are rendered, recorded and logged, not sent),
    # which `make run` uses; production requires a host.
    smtp_host: str = ""
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_from: str = "Atrium <no-reply@atrium.localhost>"
    smtp_username: str = ""
    smtp_password: SecretStr | None = None
    # STARTTLS on a plain connection (587), or TLS from the start (465).
    smtp_starttls: bool = False
    smtp_tls: bool = False
    smtp_timeout_seconds: float = Field(default=30.0, gt=0, le=300)

    # SMS: "log" (development: logged, not sent) or "twilio" (its Messages API).
    sms_provider: Literal["log", "twilio"] = "log"
    twilio_account_sid: str = ""
    twilio_auth_token: SecretStr | None = None
    # A phone number in E.164 (+14155550100) or a Messaging Service SID (MG...).
    twilio_from: str = ""
    twilio_api_base: str = "https://api.twilio.com"

    # The gateway's public address (the same ATRIUM_PUBLIC_URL), for the links messages carry.
    public_url: str = "http://127.0.0.1:8080"

    # Delivery of planned messages (every replica runs the dispatcher).
    message_dispatch_interval_seconds: float = Field(default=1.0, gt=0, le=300)
    message_batch_size: int = Field(default=200, ge=1, le=5000)
    message_lease_seconds: float = Field(default=120.0, ge=5, le=3600)
    message_max_attempts: int = Field(default=5, ge=1, le=50)
    message_retry_base_seconds: float = Field(default=30.0, gt=0, le=3600)
    message_send_concurrency: int = Field(default=16, ge=1, le=256)

    # A credit use that brings a balance to this or below tells the client (counted units, e.g. sessions;
    # money-valued credit types in minor units of their currency).
    low_credit_balance: int = Field(default=1, ge=0)
    low_credit_balance_minor: int = Field(default=1000, ge=0)

    @model_validator(mode="after")
    def _email_deliverable(self) -> NotificationSettings:
        if self.env == "production" and not self.smtp_host:
            raise ValueError("ATRIUM_SMTP_HOST is required in production (no host means emails are only logged)")
        if self.sms_provider == "twilio" and not (
            self.twilio_account_sid and self.twilio_auth_token and self.twilio_from
        ):
            raise ValueError("ATRIUM_SMS_PROVIDER=twilio needs ATRIUM_TWILIO_ACCOUNT_SID, _AUTH_TOKEN and _FROM")
        if self.smtp_starttls and self.smtp_tls:
            raise ValueError("set ATRIUM_SMTP_STARTTLS or ATRIUM_SMTP_TLS, not both")
        return self
