from __future__ import annotations

import ipaddress

from pydantic import Field, SecretStr, field_validator

from platform_core.config import PlatformSettings


class GatewaySettings(PlatformSettings):
    gateway_host: str = "127.0.0.1"
    gateway_port: int = Field(default=8080, ge=0, le=65535)
    # Public base URL of the gateway, for links in invitations; defaults to http://host:port.
    public_url: str = ""
    # HMAC key of access tokens: no default, at least 32 characters.
    jwt_secret: SecretStr = Field(min_length=32)
    access_token_ttl_seconds: int = Field(default=900, ge=30, le=86_400)
    refresh_token_ttl_seconds: int = Field(default=30 * 86_400, ge=300)
    # A spent refresh token presented again this soon after its rotation (while its successor is live) is a
    # concurrent refresh of one session and gets the same new tokens; later, it is reuse and revokes the family.
    refresh_token_grace_seconds: int = Field(default=10, ge=0, le=60)
    signup_enabled: bool = True
    # Hold every JSON answer to its operation's declared response model, failing loudly on drift. Unset: on
    # everywhere but production (make bench turns it off, since it measures what production runs).
    check_responses: bool | None = None
    # The largest client import file taken (413 above it).
    client_import_max_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)
    # Plan limit on live clients given to new tenants; 0: no limit.
    default_max_clients: int = Field(default=0, ge=0)
    login_max_failures: int = Field(default=5, ge=1, le=1000)
    login_window_seconds: int = Field(default=900, ge=1)
    login_lockout_seconds: int = Field(default=900, ge=1)
    portal_invitation_ttl_seconds: int = Field(default=72 * 3600, ge=60)
    staff_invitation_ttl_seconds: int = Field(default=7 * 86_400, ge=60)
    # Password reset links: lifetime, and how many may be asked per address within the window (429 past it).
    password_reset_ttl_seconds: int = Field(default=3600, ge=60, le=86_400)
    password_reset_max_requests: int = Field(default=5, ge=1, le=1000)
    password_reset_window_seconds: int = Field(default=3600, ge=1)
    # Calls made with API keys, per fixed window: per key and per client IP (429 with Retry-After past either).
    api_key_rate_limit: int = Field(default=600, ge=1)
    api_key_ip_rate_limit: int = Field(default=1200, ge=1)
    rate_limit_window_seconds: int = Field(default=60, ge=1, le=3600)
    # The public booking page, per window: codes sent per email address and per client IP, codes entered per
    # client IP (429 with Retry-After past either).
    public_booking_requests_per_email: int = Field(default=5, ge=1, le=1000)
    public_booking_requests_per_ip: int = Field(default=20, ge=1, le=100_000)
    public_booking_codes_per_ip: int = Field(default=30, ge=1, le=100_000)
    public_booking_window_seconds: int = Field(default=3600, ge=1, le=86_400)
    # Peers (addresses or networks) whose X-Forwarded-For names the visitor: the web unit, an ingress. Any other
    # peer is the visitor itself.
    trusted_proxies: list[str] = Field(default=["127.0.0.1", "::1"], max_length=100)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            ipaddress.ip_network(network, strict=False)  # ValueError names a malformed entry at start-up
        return value

    # Webhooks: the waits before each retry of a failed delivery (attempts = retries + 1; after the last
    # the endpoint is disabled and its owners told), the time one call may take, and (tests only) whether
    # plain http:// and private or local addresses may be targets.
    webhook_retry_delays_seconds: list[float] = Field(
        default=[5, 60, 300, 1800, 7200, 21_600, 43_200], min_length=0, max_length=20
    )
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    webhook_allow_insecure_targets: bool = False
    # The worker's outbox relay: events published per batch.
    outbox_batch_size: int = Field(default=500, ge=1, le=10_000)
    # `python -m gateway seed-demo` (run by `make run`).
    demo_owner_email: str = "owner@demo.example.com"
    demo_owner_password: SecretStr = SecretStr("demo-owner-password")
    demo_business_name: str = "Atrium Demo Studio"

    def base_url(self) -> str:
        return self.public_url.rstrip("/") or f"http://{self.gateway_host}:{self.gateway_port}"
