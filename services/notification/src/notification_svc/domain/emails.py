"""Emails the notification service sends: what goes to whom, decided from an event."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class EmailContent:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # e.g. "text/calendar; method=PUBLISH"
    content: bytes


@dataclass(frozen=True)
class OutgoingEmail:
    to: str
    subject: str
    text: str
    html: str
    # Stable per source event (or message): a receiver can tell a (rare) resend from a new email.
    message_id: str
    attachments: tuple[Attachment, ...] = ()
    # Extra headers, e.g. List-Unsubscribe (RFC 2369) and List-Unsubscribe-Post (RFC 8058).
    headers: tuple[tuple[str, str], ...] = ()


def message_id_for(source_event_id: uuid.UUID) -> str:
    return f"<{source_event_id}@atrium.notification>"


def greeting_name(first_name: str, last_name: str) -> str:
    return " ".join(p for p in (first_name.strip(), last_name.strip()) if p) or "there"


@dataclass(frozen=True)
class SentEmail:
    """The record that an email went out for an event (one per event, enforced by the schema)."""

    tenant_id: uuid.UUID
    id: uuid.UUID
    client_id: uuid.UUID | None
    kind: str
    to_address: str
    subject: str
    message_id: str
    transport: str
    source_event_id: uuid.UUID


def unsubscribe_headers(url: str) -> tuple[tuple[str, str], ...]:
    """RFC 8058 one-click: mail programs POST 'List-Unsubscribe=One-Click' to the address, no login."""
    if not url:
        return ()
    return (("List-Unsubscribe", f"<{url}>"), ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
