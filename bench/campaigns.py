"""A campaign sent: 5,000 messages of one campaign planned as sending plans them (at the highest rate a
campaign may ask, 6,000 a minute), delivered by a dispatcher (lease a batch, check each client's marketing
consent, render the campaign's own blocks with an unsubscribe link each, send over SMTP with the RFC 8058
headers, record the attempts) to a local SMTP sink, beside the raw aiosmtplib loop of the due-reminders row
sending the same email to the same sink. Target: ours >= 0.5x raw.

The messages are due in 2100 and the dispatcher's clock stands past the last, so the running notification
unit (on the real clock) leaves them to the measured dispatcher.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

from aiosmtpd.controller import Controller

from bench.load import Figures
from bench.measurements import Bench
from bench.reminders import CONCURRENCY, DUE, SENDER, Sink, raw_smtp_loop
from bench.report import Result
from notification_svc.adapters.email_sender import SmtpEmailSender
from notification_svc.adapters.message_templates import MessageTemplates
from notification_svc.domain.audience import ClientContact
from notification_svc.domain.campaigns import (
    CAMPAIGN_KIND,
    MAX_RATE_PER_MINUTE,
    CampaignDraft,
    Member,
    Segment,
    campaign_messages,
    with_html,
)
from notification_svc.domain.commands import DispatchDueMessages
from notification_svc.domain.delivery import RetryPolicy
from notification_svc.service_layer import delivery_handlers
from notification_svc.service_layer.unit_of_work import NotificationPorts, SqlAlchemyNotificationUnitOfWork
from platform_core.config import PlatformSettings
from platform_core.db import create_engine, session_factory
from platform_dev import devstack

RECIPIENTS = 5_000
SOURCE = with_html(
    "{% block subject %}Spring offer for {{ name }}{% endblock %}"
    "{% block text %}Hello {{ name }},\n\n20% off at {{ business_name }} this week.\n\n"
    "Unsubscribe: {{ unsubscribe_url }}{% endblock %}"
)


async def campaign_send(bench: Bench) -> Result:
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=devstack.free_port())
    controller.start()
    url = PlatformSettings(
        postgres_url=bench.stack.infra.postgres_url, database_prefix=bench.stack.infra.database_prefix
    ).database_url("notification")
    engine = create_engine(url, pool_size=4, max_overflow=0)
    try:
        sessions = session_factory(engine)
        tenant, campaign_id = uuid.uuid4(), uuid.uuid4()
        members = [Member(uuid.uuid4(), f"client-{i}@bench.example", "") for i in range(RECIPIENTS)]
        uow = SqlAlchemyNotificationUnitOfWork(sessions, nats_prefix="bench")
        async with uow:
            for i, member in enumerate(members):
                contact = ClientContact(member.client_id, f"Client {i}", "", member.email, "", "en", "Europe/Berlin")
                await uow.directory.keep_contact(tenant, contact, DUE)
            draft = CampaignDraft(tenant, "Bench", "email", Segment(), SOURCE, MAX_RATE_PER_MINUTE, "bench")
            await uow.campaigns.add(campaign_id, draft, DUE)
            await uow.campaigns.start(tenant, campaign_id, RECIPIENTS, DUE)
            planned = campaign_messages(
                tenant, campaign_id, "email", MAX_RATE_PER_MINUTE, members, now=DUE, max_attempts=3
            )
            await uow.messages.plan(planned, DUE)
            await uow.commit()
        last_due = max(m.due_at for m in planned)

        ports = NotificationPorts(
            clock=lambda: last_due + timedelta(seconds=1),
            email_sender=SmtpEmailSender(host="127.0.0.1", port=controller.port, sender=SENDER, timeout=30),
        )
        replica = SqlAlchemyNotificationUnitOfWork(sessions, nats_prefix="bench", ports=ports)
        dispatch = DispatchDueMessages(retry_policy=RetryPolicy(), batch_size=500, concurrency=CONCURRENCY)
        started = time.perf_counter()
        sent = await delivery_handlers.dispatch_due_messages(dispatch, replica)
        ours_seconds = time.perf_counter() - started
        ours_received = sink.received

        rendered = MessageTemplates().render(
            "en",
            CAMPAIGN_KIND.replace(".", "_"),
            {"name": "Client 0", "business_name": "", "client_name": "", "unsubscribe_url": "https://x/unsubscribe/y"},
            zone="Europe/Berlin",
            override=SOURCE,
        )
        sink.received = 0
        raw_seconds = await raw_smtp_loop(controller.port, rendered, RECIPIENTS)
        raw_received = sink.received
    finally:
        controller.stop()
        await engine.dispose()

    ours = Figures(ours_received / ours_seconds, None, None, RECIPIENTS - ours_received, sent)
    raw = Figures(raw_received / raw_seconds, None, None, RECIPIENTS - raw_received, raw_received)
    ratio = ours.ops_per_s / raw.ops_per_s if raw.ops_per_s else None
    return Result(
        name="campaign -> SMTP",
        ours=ours,
        raw=raw,
        ratio=ratio,
        target=">= 0.5x raw",
        passed=ratio is not None and ratio >= 0.5 and ours.errors == 0,
        notes=[
            f"{RECIPIENTS} messages of one campaign (planned at {MAX_RATE_PER_MINUTE}/min, all due), leased in "
            f"batches of 500, consent checked, its own blocks rendered with an unsubscribe link each, sent "
            f"{CONCURRENCY} at a time with List-Unsubscribe headers, attempts recorded; raw: the due-reminders "
            "row's aiosmtplib loop"
        ],
    )
