"""Campaign use cases through the fake unit of work: checked when created, previewed, sent once at their rate."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from notification_svc.domain import commands
from notification_svc.domain.campaigns import Member, Segment
from notification_svc.domain.preferences import Preference
from notification_svc.service_layer import campaign_handlers
from platform_core.errors import Conflict, InvalidArgument

from .fakes import NOW, FakeClientDirectory, FakeUnitOfWork

TENANT = uuid.uuid4()
SEGMENT = Segment(group_id=uuid.uuid4())
SOURCE = "{% block subject %}Offer{% endblock %}{% block text %}Hi {{ name }}\n{{ unsubscribe_url }}{% endblock %}"


def create(source: str = SOURCE, channel: str = "email") -> commands.CreateCampaign:
    return commands.CreateCampaign(TENANT, "staff-1", " Spring  offer ", channel, SEGMENT, source, 60, NOW)


async def test_a_campaign_is_kept_with_an_html_part_of_its_text(uow: FakeUnitOfWork) -> None:
    campaign_id = await campaign_handlers.create_campaign(create(), uow)
    draft = uow.campaigns.drafts[campaign_id]
    assert (draft.name, draft.created_by) == ("Spring offer", "staff-1")
    assert "{% block html %}" in draft.source and uow.committed


@pytest.mark.parametrize(
    ("source", "channel", "field"),
    [
        (SOURCE.replace("{{ unsubscribe_url }}", ""), "email", "source"),  # no unsubscribe link
        ("{% block text %}Hi {{ unsubscribe_url }}{% endblock %}", "email", "source"),  # no subject
        (SOURCE + "{{ nobody_knows }}", "email", "source"),  # a variable the kind does not have
        (SOURCE, "fax", "channel"),
    ],
)
async def test_a_wrong_campaign_is_refused_naming_the_field_and_nothing_is_kept(
    uow: FakeUnitOfWork, source: str, channel: str, field: str
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        await campaign_handlers.create_campaign(create(source, channel), uow)
    assert [v.field for v in refused.value.violations] == [field]
    assert uow.campaigns.drafts == {}


async def test_the_audience_counts_who_would_receive_it() -> None:
    ada, bob, cy = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    uow = FakeUnitOfWork()
    uow.client_directory = segment = FakeClientDirectory(
        [Member(ada, "ada@example.com", ""), Member(bob, "bob@example.com", ""), Member(cy, "", "")]
    )
    await uow.preferences.choose(TENANT, bob, [Preference("marketing", "email", False)], NOW)
    found = await campaign_handlers.preview_campaign_audience(
        commands.PreviewCampaignAudience(TENANT, SEGMENT, "email"), uow
    )
    assert (found.matching, found.recipients, found.opted_out, found.without_address) == (3, 1, 1, 1)
    assert segment.asked == [SEGMENT]


async def test_a_campaign_is_sent_once_one_message_each_at_its_rate() -> None:
    uow = FakeUnitOfWork()
    members = [Member(uuid.uuid4(), f"c{i}@example.com", "") for i in range(3)]
    uow.client_directory = FakeClientDirectory(members)
    campaign_id = await campaign_handlers.create_campaign(create(), uow)
    send = commands.SendCampaign(TENANT, campaign_id, SEGMENT, "email", 60, NOW, 3)
    assert await campaign_handlers.send_campaign(send, uow) == 3
    due = sorted(m.due_at for m in uow.messages.of(TENANT) if m.due_at)
    assert due == [NOW, NOW + timedelta(seconds=1), NOW + timedelta(seconds=2)]
    with pytest.raises(Conflict):
        await campaign_handlers.send_campaign(send, uow)
    assert len(uow.messages.of(TENANT)) == 3
