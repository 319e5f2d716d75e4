"""Request and response models of the in-app inboxes and the operators' message list."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from gateway.schemas import AttemptOut, Body, MessageOut, MessageStatus, Out, PageQuery

__all__ = ["AttemptOut", "MessageOut", "MessageStatus"]  # declared beside the timeline that shows messages too


class InboxQuery(PageQuery):
    unread_only: bool = False


class NotificationOut(Out):
    id: str
    kind: str = Field(description="What it is about, e.g. request.approved")
    title: str
    body: str
    created_at: str
    read_at: str | None


class NotificationList(Out):
    items: list[NotificationOut]
    unread_count: int
    next_page_token: str | None


class MarkedRead(Out):
    marked: int
    unread_count: int


class MessageQuery(PageQuery):
    status: MessageStatus | None = None
    client_id: str | None = Field(default=None, max_length=36)


class MessageList(Out):
    items: list[MessageOut]
    next_page_token: str | None


class QuietHoursIn(Body):
    start: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="HH:MM in the recipient's zone")
    end: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


class ReminderRuleIn(Body):
    offsets: list[str] = Field(
        min_length=1,
        max_length=5,
        description='Before the appointment: "24h" (exact hours) or "1d" (the same local time N days before)',
    )
    audiences: list[Literal["client", "staff"]] = Field(min_length=1)
    channels: list[Literal["email", "sms", "in_app"]] = Field(min_length=1)
    quiet_hours: QuietHoursIn | None = Field(
        default=None, description="A reminder falling inside them goes out before they start"
    )
    sms_fallback_after: int = Field(
        default=2, ge=1, le=10, description="Failed SMS attempts before the reminder goes by email instead"
    )


class ReminderRuleOut(Out):
    service_id: str | None
    offsets: list[str]
    audiences: list[str]
    channels: list[str]
    quiet_hours: dict[str, str] | None
    sms_fallback_after: int
    is_default: bool


class ReminderRuleList(Out):
    items: list[ReminderRuleOut]


class PreferenceIn(Body):
    category: Literal["reminders", "marketing"]
    channel: Literal["email", "sms", "in_app"]
    allowed: bool


class PreferencesIn(Body):
    preferences: list[PreferenceIn] = Field(default=[], max_length=6)
    preferred_channel: Literal["email", "sms"] | None = Field(
        default=None, description="How its request and waitlist messages reach the client (unset: unchanged)"
    )


class PreferencesOut(Out):
    client_id: str
    preferred_channel: Literal["email", "sms"] = Field(
        description="sms: request and waitlist messages go by SMS (by email after failing, or without a number)"
    )
    preferences: list[dict[str, str | bool]] = Field(
        description="Each optional category (reminders, marketing) on each channel; transactional messages are "
        "always sent"
    )


class UnsubscribedOut(Out):
    category: str
    channel: str
    unsubscribed: bool


class SmsStatusRecorded(Out):
    recorded: bool


class TemplateKindOut(Out):
    kind: str
    variables: list[str]
    languages: list[str]
    overridden: list[str]


class TemplateKindList(Out):
    items: list[TemplateKindOut]


class TemplateSourceIn(Body):
    source: str = Field(
        min_length=1,
        max_length=20000,
        description="Jinja blocks subject, text, html, sms and/or inbox (the others stay the default's); "
        "times with when(start)",
    )


class TemplatePreviewIn(Body):
    source: str = Field(default="", max_length=20000, description="Empty: preview what is in use")


class TemplatePreviewOut(Out):
    subject: str
    text: str
    html: str
    sms: str
    inbox: str


class CampaignSegmentIn(Body):
    group_id: str | None = Field(default=None, max_length=36, description="Only members of this group")
    status_id: str | None = Field(default=None, max_length=36, description="Only clients with this status")
    tag: str | None = Field(default=None, max_length=100, description="Only clients with this tag")


class CampaignIn(Body):
    name: str = Field(min_length=1, max_length=200)
    channel: Literal["email", "sms"]
    segment: CampaignSegmentIn = Field(
        default_factory=CampaignSegmentIn, description="Each filter set narrows it; none: every live client"
    )
    source: str = Field(
        min_length=1,
        max_length=20000,
        description="Jinja blocks as in a message template: subject and text for an email (which must show "
        "{{ unsubscribe_url }}; its HTML part is the text unless an html block is written), sms for an SMS. "
        "Variables: name, client_name, business_name, unsubscribe_url.",
    )
    rate_per_minute: int = Field(default=60, ge=1, le=6000, description="Messages handed over per minute at most")


class CampaignSegmentOut(Out):
    group_id: str | None
    status_id: str | None
    tag: str | None


class CampaignSkipOut(Out):
    reason: str
    count: int


class CampaignReportOut(Out):
    recipients: int = Field(description="Messages planned when it was sent (one per client of the segment)")
    pending: int
    sent: int
    delivered: int
    failed: int
    skipped: int
    skip_reasons: list[CampaignSkipOut]


class CampaignOut(Out):
    id: str
    name: str
    channel: Literal["email", "sms"]
    segment: CampaignSegmentOut
    source: str
    rate_per_minute: int
    status: Literal["draft", "sending", "sent"]
    created_by: str
    created_at: str
    started_at: str | None
    report: CampaignReportOut


class CampaignList(Out):
    items: list[CampaignOut]
    next_page_token: str | None


class CampaignAudienceOut(Out):
    matching: int = Field(description="Live clients of the segment")
    recipients: int = Field(description="Those it would be sent to now")
    opted_out: int = Field(description="Switched off marketing on its channel")
    without_address: int = Field(description="No email (or phone) on record")


class PaymentRuleIn(Body):
    days: list[Annotated[int, Field(ge=-60, le=90)]] = Field(
        min_length=1,
        max_length=6,
        description="Days relative to the due date: -3 three days before, 0 on the day, 3 three days overdue",
    )
    channels: list[Literal["email", "sms", "in_app"]] = Field(default=["email"], min_length=1, max_length=3)
    send_at: str = Field(
        default="09:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="HH:MM in the client's zone"
    )


class PaymentRuleOut(Out):
    days: list[int]
    channels: list[Literal["email", "sms", "in_app"]]
    send_at: str
    is_default: bool = Field(description="True while the business has set none (3 days before, on the day, 3 overdue)")


class MembershipExpiryRuleIn(Body):
    days: list[Annotated[int, Field(ge=-60, le=60)]] = Field(
        min_length=1,
        max_length=6,
        description="Days relative to the expiry date: -7 a week before, 0 on the day, 3 three days after "
        "(sent only while the membership's tolerance lasts)",
    )
    channels: list[Literal["email", "sms", "in_app"]] = Field(default=["email"], min_length=1, max_length=3)
    send_at: str = Field(
        default="09:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="HH:MM in the client's zone"
    )


class MembershipExpiryRuleOut(Out):
    days: list[int]
    channels: list[Literal["email", "sms", "in_app"]]
    send_at: str
    is_default: bool = Field(description="True while the business has set none (on the day and 3 days after)")
