"""Request and response models of the in-app inboxes and the operators' message list."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from gateway.schemas import Out, PageQuery


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


MessageStatus = Literal["planned", "sending", "sent", "delivered", "failed", "skipped", "cancelled"]


class MessageQuery(PageQuery):
    status: MessageStatus | None = None
    client_id: str | None = Field(default=None, max_length=36)


class AttemptOut(Out):
    number: int
    channel: str
    at: str
    outcome: Literal["sent", "failed"]
    error: str


class MessageOut(Out):
    id: str
    kind: str
    category: Literal["transactional", "reminders", "marketing"]
    channel: Literal["email", "sms", "in_app"]
    recipient_kind: str
    recipient_id: str
    client_id: str | None
    status: MessageStatus
    to_address: str
    subject: str
    language: str
    due_at: str
    sent_at: str | None
    attempts: int
    last_error: str
    skip_reason: str
    created_at: str
    attempt_log: list[AttemptOut]


class MessageList(Out):
    items: list[MessageOut]
    next_page_token: str | None
