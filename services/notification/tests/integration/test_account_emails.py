"""The emails the gateway and the public booking page ask for arrive (published as their events), in the
language asked; the link or code is dropped from the message once sent; one expired before sending is
skipped, not sent."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from atrium.gateway.v1 import events_pb2 as gateway_events
from atrium.portal_requests.v1 import events_pb2 as request_events
from notification_svc.config import NotificationSettings
from platform_core.db import create_engine
from platform_core.grpc.values import timestamp
from platform_dev.testing.plugin import wait_until

from ..conftest import Mailbox
from .test_request_messages import envelope, part, subject
from .test_timeline import publish


async def test_a_reset_link_and_a_code_arrive_and_are_not_kept_and_an_expired_code_is_not_sent(
    notification_channel: object, notification_settings: NotificationSettings, mailbox: Mailbox
) -> None:
    tenant, account = uuid.uuid4(), str(uuid.uuid4())
    address = f"staff-{uuid.uuid4().hex[:8]}@example.com"
    soon = timestamp(datetime.now(UTC) + timedelta(minutes=30))
    reset = gateway_events.PasswordResetRequested(
        account_kind="staff",
        account_id=account,
        email=address,
        name="Grace",
        reset_url="https://studio.example/reset#token=s3cret",
        expires_at=soon,
        language="de",
    )
    code = request_events.PublicRequestVerificationRequested(
        verification_id=str(uuid.uuid4()),
        email=address,
        name="Grace",
        code="482913",
        expires_at=soon,
        business_name="Zen Studio",
        language="en",
    )
    stale = gateway_events.LoginCodeRequested(
        account_kind="staff",
        account_id=account,
        email=address,
        code="000000",
        expires_at=timestamp(datetime.now(UTC) - timedelta(minutes=1)),
        purpose="sign_in",
    )
    await publish(notification_settings, envelope(tenant, stale, "gateway"))
    await publish(notification_settings, envelope(tenant, reset, "gateway"))
    await publish(notification_settings, envelope(tenant, code, "portal_requests", code.verification_id))

    received = await wait_until(lambda: len(mailbox.to(address)) == 2 and mailbox.to(address), timeout=15)
    by_subject = {subject(m): m for m in received}
    reset_email = by_subject["Passwort zurücksetzen"]
    assert (
        "https://studio.example/reset#token=s3cret" in part(reset_email, "text/plain").get_payload(decode=True).decode()
    )
    assert "Your code to confirm your booking request: 482913" in by_subject

    engine = create_engine(notification_settings.database_url("notification"))
    try:

        async def settled() -> list[tuple[str, str, bool, str]]:
            async with engine.connect() as conn:
                rows = await conn.execute(
                    text(
                        "SELECT kind, status, variables ? 'secret' AS kept, skip_reason FROM messages "
                        "WHERE tenant_id = :t ORDER BY kind"
                    ),
                    {"t": tenant},
                )
                found = [tuple(r) for r in rows]
            return found if len(found) == 3 and all(r[1] not in ("planned", "sending") for r in found) else []

        assert await wait_until(settled, timeout=15) == [
            ("account.login_code", "skipped", False, "its link or code expired before it could be sent"),
            ("account.password_reset", "sent", False, ""),
            ("request.verification_code", "sent", False, ""),
        ]
    finally:
        await engine.dispose()
