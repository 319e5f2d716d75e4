"""Campaigns against real PostgreSQL and a real SMTP server, with the clock moved by the test: the audience
counts the segment less the opted-out and those without an address; sending plans one message each at the
campaign's rate; two replicas deliver each once; the report tells sent and skipped with the reasons; a
campaign is sent once; a marketing email carries its unsubscribe link and the RFC 8058 headers.

The segment comes from a stand-in for the client service's answer (its gRPC query is exercised end to end
through the gateway). Times are in 2100 so the service's own dispatcher (real clock) leaves them be."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from atrium.notification.v1 import notification_service_pb2 as pb
from notification_svc.adapters.client_directory import AbstractClientDirectory
from notification_svc.config import NotificationSettings
from notification_svc.domain.audience import ClientContact
from notification_svc.domain.campaigns import Member, Segment
from notification_svc.domain.preferences import Preference
from notification_svc.entrypoints.grpc_server import NotificationServicer
from notification_svc.service_layer.unit_of_work import NotificationPorts, SqlAlchemyNotificationUnitOfWork
from platform_core.db import session_factory
from platform_core.errors import Conflict, InvalidArgument
from platform_core.grpc.context import CallContext, Principal, bind_call_context

from .conftest import Clock, FlakyMailbox, dispatcher

T0 = datetime(2100, 9, 1, 9, 0, tzinfo=UTC)
SOURCE = (
    "{% block subject %}Spring offer for {{ name }}{% endblock %}"
    "{% block text %}Hello {{ name }}, 20% off at {{ business_name }} this week.\n"
    "Unsubscribe: {{ unsubscribe_url }}{% endblock %}"
)


class Segments(AbstractClientDirectory):
    def __init__(self, members: list[Member]) -> None:
        self.members_ = members
        self.asked: list[Segment] = []

    async def members(self, segment: Segment) -> list[Member]:
        self.asked.append(segment)
        return self.members_


def uow(
    engine: AsyncEngine, settings: NotificationSettings, segments: AbstractClientDirectory | None = None
) -> SqlAlchemyNotificationUnitOfWork:
    ports = NotificationPorts(client_directory=segments) if segments else None
    return SqlAlchemyNotificationUnitOfWork(session_factory(engine), nats_prefix=settings.nats_prefix, ports=ports)


async def test_a_campaign_reaches_its_segment_once_at_its_rate_and_reports_sent_and_skipped(
    engine: AsyncEngine, notification_settings: NotificationSettings, flaky_smtp: tuple[FlakyMailbox, int]
) -> None:
    mailbox, port = flaky_smtp
    tenant = uuid.uuid4()
    ada, bob, cy, dee = (uuid.uuid4() for _ in range(4))
    mail = {c: f"{n}-{c.hex[:6]}@example.com" for c, n in ((ada, "ada"), (bob, "bob"), (dee, "dee"))}
    async with uow(engine, notification_settings) as work:
        for client, name in ((ada, "Ada"), (bob, "Bob"), (cy, "Cy"), (dee, "Dee")):
            await work.directory.keep_contact(tenant, ClientContact(client, name, "", mail.get(client, "")), T0)
        await work.preferences.choose(tenant, bob, [Preference("marketing", "email", False)], T0)
        await work.commit()
    segments = Segments([Member(c, mail.get(c, ""), "") for c in (ada, bob, cy, dee)])
    clock = Clock(T0)
    servicer = NotificationServicer(
        engine=engine, uow_factory=lambda: uow(engine, notification_settings, segments), clock=clock
    )
    group = uuid.uuid4()
    with bind_call_context(CallContext(tenant, Principal("staff", str(uuid.uuid4()), "owner"))):
        for source, field in ((SOURCE.replace("{{ unsubscribe_url }}", ""), "source"), (SOURCE + "{{ x }}", "source")):
            with pytest.raises(InvalidArgument) as refused:
                await servicer.CreateCampaign(_create(source, group), None)  # type: ignore[arg-type]
            assert [v.field for v in refused.value.violations] == [field]
        campaign = await servicer.CreateCampaign(_create(SOURCE, group), None)  # type: ignore[arg-type]
        assert (campaign.status, campaign.segment.group_id) == ("draft", str(group))
        request = pb.CampaignRequest(campaign_id=campaign.id)
        found = await servicer.PreviewCampaignAudience(request, None)  # type: ignore[arg-type]
        assert (found.matching, found.recipients, found.opted_out, found.without_address) == (4, 2, 1, 1)
        assert segments.asked == [Segment(group, None, "")]

        sending = await servicer.SendCampaign(request, None)  # type: ignore[arg-type]
        assert (sending.status, sending.report.recipients, sending.report.pending) == ("sending", 4, 4)
        with pytest.raises(Conflict):
            await servicer.SendCampaign(request, None)  # type: ignore[arg-type]

        # 60 a minute: one due each second. Two replicas share what is due; each goes once.
        one, two = (dispatcher(engine, port, clock, notification_settings) for _ in range(2))
        await asyncio.gather(one.dispatch_all_due(), two.dispatch_all_due())
        assert (await servicer.GetCampaign(request, None)).report.pending == 3  # type: ignore[arg-type]
        clock.now = T0 + timedelta(seconds=3)
        await asyncio.gather(one.dispatch_all_due(), two.dispatch_all_due())
        report = await servicer.GetCampaign(request, None)  # type: ignore[arg-type]
        listed = await servicer.ListCampaigns(pb.ListCampaignsRequest(), None)  # type: ignore[arg-type]

    assert report.status == "sent"
    assert (report.report.sent, report.report.failed, report.report.skipped, report.report.pending) == (2, 0, 2, 0)
    assert sorted((s.reason, s.count) for s in report.report.skip_reasons) == [
        ("the client has no email address on record", 1),
        ("the client opted out of marketing by email", 1),
    ]
    assert [c.id for c in listed.campaigns] == [campaign.id]
    sent_to = sorted(str(m["To"]) for m in mailbox.messages)
    assert sent_to == sorted([mail[ada], mail[dee]])
    email = next(m for m in mailbox.messages if m["To"] == mail[ada])
    assert email["Subject"] == "Spring offer for Ada"
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = _part(email, "text/plain")
    assert "Hello Ada, 20% off" in text and "/unsubscribe/" in text
    assert "/unsubscribe/" in _part(email, "text/html")


def _create(source: str, group: uuid.UUID) -> pb.CreateCampaignRequest:
    return pb.CreateCampaignRequest(
        name="Spring offer",
        channel="email",
        segment=pb.CampaignSegment(group_id=str(group)),
        source=source,
        rate_per_minute=60,
    )


def _part(email: Any, content_type: str) -> str:
    return str(next(p for p in email.walk() if p.get_content_type() == content_type).get_payload(decode=True).decode())
