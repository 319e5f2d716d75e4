"""Messages in the database: planned once (the unique key decides), claimed by any replica when due
(FOR UPDATE SKIP LOCKED, with a lease), and each attempt's outcome recorded by the replica holding it."""

from __future__ import annotations

import abc
import json
import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from notification_svc.domain.delivery import ClaimedMessage, Outcome, PlannedMessage, Recipient, Status


class AbstractMessageStore(abc.ABC):
    @abc.abstractmethod
    async def plan(self, messages: Sequence[PlannedMessage], now: datetime) -> int:
        """Insert the messages not planned before; returns how many were new."""

    @abc.abstractmethod
    async def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> list[ClaimedMessage]:
        """Lease up to ``limit`` messages due by ``now`` (and those whose lease ran out)."""

    @abc.abstractmethod
    async def record(self, message: ClaimedMessage, outcome: Outcome, now: datetime) -> bool:
        """Apply an attempt's outcome; False when the lease was lost meanwhile (another replica took over)."""

    @abc.abstractmethod
    async def resend(self, tenant_id: uuid.UUID, message_id: uuid.UUID, now: datetime) -> bool:
        """Plan a failed or skipped message again, now, with one more attempt; False when it is neither."""

    @abc.abstractmethod
    async def provider_report(
        self, tenant_id: uuid.UUID, provider_id: str, status: Status, error: str, now: datetime
    ) -> bool:
        """A provider's delivery report for a sent message: delivered, or failed (then its fallback is
        planned); False when no sent message has that id (unknown, or already final)."""

    @abc.abstractmethod
    async def cancel_pending(self, tenant_id: uuid.UUID, subject_id: uuid.UUID, kind: str, now: datetime) -> int:
        """Cancel the messages of ``kind`` about ``subject_id`` not yet sent (a moved or cancelled
        appointment's reminders); a replica sending one right now loses its lease."""

    @abc.abstractmethod
    async def mark_read(
        self,
        tenant_id: uuid.UUID,
        audience: str,
        recipient_id: uuid.UUID,
        notification_id: uuid.UUID | None,
        now: datetime,
    ) -> int:
        """Mark one of the recipient's in-app notices read (all unread ones when none is given); how many."""


_CLAIM = text(
    """
    WITH due AS (
        SELECT tenant_id, id FROM messages
        WHERE (status = 'planned' AND due_at <= :now) OR (status = 'sending' AND lease_until < :now)
        ORDER BY due_at
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    )
    UPDATE messages m SET status = 'sending', lease_until = :lease_until, updated_at = :now
    FROM due WHERE m.tenant_id = due.tenant_id AND m.id = due.id
    RETURNING m.tenant_id, m.id, m.kind, m.category, m.channel, m.recipient_kind, m.recipient_id,
              m.given_address, m.client_id, m.variables, m.attempts, m.max_attempts, m.fallback_channel,
              m.fallback_after
    """
)

_RECORD = text(
    """
    UPDATE messages SET status = :status, lease_until = NULL, attempts = :attempts, due_at = :due_at,
        last_error = :error, skip_reason = :skip_reason, sent_at = :sent_at, updated_at = :now,
        to_address = CASE WHEN :to_address = '' THEN to_address ELSE :to_address END,
        language = CASE WHEN :language = '' THEN language ELSE :language END,
        subject = CASE WHEN :subject = '' THEN subject ELSE :subject END,
        provider_id = CASE WHEN :provider_id = '' THEN provider_id ELSE :provider_id END,
        -- A link or code is kept only while it may still be sent.
        variables = CASE WHEN :status = 'planned' THEN variables ELSE variables - 'secret' END
    WHERE tenant_id = :tenant_id AND id = :id AND status = 'sending' AND attempts = :previous_attempts
    """
)


class SqlAlchemyMessageStore(AbstractMessageStore):
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def plan(self, messages: Sequence[PlannedMessage], now: datetime) -> int:
        if not messages:
            return 0
        rows = [
            {
                "tenant_id": str(m.tenant_id),
                "id": str(m.id),
                "kind": m.kind,
                "category": m.category,
                "channel": m.channel,
                "recipient_kind": m.recipient.kind,
                "recipient_id": str(m.recipient.id),
                "given_address": m.recipient.address,
                "client_id": str(m.client_id) if m.client_id else None,
                "subject_id": str(m.subject_id) if m.subject_id else None,
                "fallback_channel": m.fallback_channel,
                "fallback_after": m.fallback_after,
                "rule": m.rule,
                "source_event_id": str(m.source_event_id),
                "variables": m.variables,
                "due_at": m.due_at.isoformat(),
                "max_attempts": m.max_attempts,
            }
            for m in messages
        ]
        # One statement for the lot (a rule may plan hundreds), each row skipped when already planned.
        result = await self.session.execute(
            text(
                """
                INSERT INTO messages (tenant_id, id, kind, category, channel, recipient_kind, recipient_id,
                    given_address, client_id, subject_id, rule, source_event_id, variables, status, due_at,
                    max_attempts, fallback_channel, fallback_after, created_at, updated_at)
                SELECT tenant_id, id, kind, category, channel, recipient_kind, recipient_id, given_address,
                    client_id, subject_id, rule, source_event_id, variables, 'planned', due_at, max_attempts,
                    fallback_channel, fallback_after, :now, :now
                FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r (tenant_id uuid, id uuid, kind text,
                    category text, channel text, recipient_kind text, recipient_id uuid, given_address text,
                    client_id uuid, subject_id uuid, rule text, source_event_id uuid, variables jsonb,
                    due_at timestamptz, max_attempts integer, fallback_channel text, fallback_after integer)
                ON CONFLICT ON CONSTRAINT messages_once DO NOTHING
                """
            ),
            {"rows": json.dumps(rows), "now": now},
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> list[ClaimedMessage]:
        rows = (await self.session.execute(_CLAIM, {"now": now, "lease_until": lease_until, "limit": limit})).all()
        return [
            ClaimedMessage(
                tenant_id=r.tenant_id,
                id=r.id,
                kind=r.kind,
                category=r.category,
                channel=r.channel,
                recipient=Recipient(r.recipient_kind, r.recipient_id, r.given_address),
                client_id=r.client_id,
                variables=r.variables,
                attempt=r.attempts + 1,
                max_attempts=r.max_attempts,
                fallback_channel=r.fallback_channel,
                fallback_after=r.fallback_after,
            )
            for r in rows
        ]

    async def record(self, message: ClaimedMessage, outcome: Outcome, now: datetime) -> bool:
        attempts = message.attempt if outcome.attempted else message.attempt - 1
        sent = outcome.status in (Status.SENT, Status.DELIVERED)
        updated = await self.session.execute(
            _RECORD,
            {
                "tenant_id": message.tenant_id,
                "id": message.id,
                "status": outcome.status.value,
                "attempts": attempts,
                "previous_attempts": message.attempt - 1,
                "due_at": outcome.retry_at or now,
                "error": outcome.error[:2000],
                "skip_reason": outcome.skip_reason,
                "sent_at": now if sent else None,
                "now": now,
                "to_address": outcome.to_address,
                "language": outcome.language,
                "subject": outcome.subject[:500],
                "provider_id": outcome.provider_id,
            },
        )
        if not updated.rowcount:  # type: ignore[attr-defined]
            return False
        if outcome.attempted:
            await self.session.execute(
                text(
                    "INSERT INTO message_attempts (tenant_id, message_id, number, channel, at, outcome, error) "
                    "VALUES (:t, :m, :n, :channel, :at, :outcome, :error) ON CONFLICT DO NOTHING"
                ),
                {
                    "t": message.tenant_id,
                    "m": message.id,
                    "n": message.attempt,
                    "channel": message.channel,
                    "at": now,
                    "outcome": "sent" if sent else "failed",
                    "error": outcome.error[:2000],
                },
            )
        if outcome.fall_back:
            await self._fall_back(message.tenant_id, message.id, now)
        if outcome.notice is not None and outcome.status == Status.DELIVERED:
            title, body = outcome.notice
            await self.session.execute(
                text(
                    "INSERT INTO inbox_notifications (tenant_id, id, audience, recipient_id, kind, title, body, "
                    "created_at) VALUES (:t, :id, :audience, :r, :kind, :title, :body, :now) ON CONFLICT DO NOTHING"
                ),
                {
                    "t": message.tenant_id,
                    "id": message.id,
                    "audience": message.recipient.kind,
                    "r": message.recipient.id,
                    "kind": message.kind,
                    "title": title,
                    "body": body,
                    "now": now,
                },
            )
        return True

    async def resend(self, tenant_id: uuid.UUID, message_id: uuid.UUID, now: datetime) -> bool:
        result = await self.session.execute(
            text(
                "UPDATE messages SET status = 'planned', due_at = :now, skip_reason = '', updated_at = :now, "
                "max_attempts = greatest(max_attempts, attempts + 1) "
                "WHERE tenant_id = :t AND id = :id AND status IN ('failed', 'skipped')"
            ),
            {"t": tenant_id, "id": message_id, "now": now},
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def mark_read(
        self,
        tenant_id: uuid.UUID,
        audience: str,
        recipient_id: uuid.UUID,
        notification_id: uuid.UUID | None,
        now: datetime,
    ) -> int:
        query = (
            "UPDATE inbox_notifications SET read_at = :now WHERE tenant_id = :t AND audience = :a "
            "AND recipient_id = :r AND read_at IS NULL"
        )
        params: dict[str, object] = {"t": tenant_id, "a": audience, "r": recipient_id, "now": now}
        if notification_id is not None:
            query += " AND id = :id"
            params["id"] = notification_id
        result = await self.session.execute(text(query), params)
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def cancel_pending(self, tenant_id: uuid.UUID, subject_id: uuid.UUID, kind: str, now: datetime) -> int:
        result = await self.session.execute(
            text(
                "UPDATE messages SET status = 'cancelled', lease_until = NULL, updated_at = :now "
                "WHERE tenant_id = :t AND subject_id = :s AND kind = :kind AND status IN ('planned', 'sending')"
            ),
            {"t": tenant_id, "s": subject_id, "kind": kind, "now": now},
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def _fall_back(self, tenant_id: uuid.UUID, message_id: uuid.UUID, now: datetime) -> None:
        """The same message, planned now on its fallback channel (its own row: the unique key has the channel)."""
        await self.session.execute(
            text(
                """
                INSERT INTO messages (tenant_id, id, kind, category, channel, recipient_kind, recipient_id,
                    given_address, client_id, subject_id, rule, source_event_id, variables, status, due_at,
                    max_attempts, created_at, updated_at)
                SELECT tenant_id, gen_random_uuid(), kind, category, fallback_channel, recipient_kind, recipient_id,
                    given_address, client_id, subject_id, rule, source_event_id, variables, 'planned', :now,
                    max_attempts, :now, :now
                FROM messages WHERE tenant_id = :t AND id = :id AND fallback_channel <> ''
                ON CONFLICT ON CONSTRAINT messages_once DO NOTHING
                """
            ),
            {"t": tenant_id, "id": message_id, "now": now},
        )

    async def provider_report(
        self, tenant_id: uuid.UUID, provider_id: str, status: Status, error: str, now: datetime
    ) -> bool:
        reported = (
            await self.session.execute(
                text(
                    "UPDATE messages SET status = :status, last_error = :error, updated_at = :now "
                    "WHERE tenant_id = :t AND provider_id = :p AND status = 'sent' RETURNING id"
                ),
                {"t": tenant_id, "p": provider_id, "status": status.value, "error": error[:2000], "now": now},
            )
        ).first()
        if reported is None:
            return False
        if status == Status.FAILED:
            await self._fall_back(tenant_id, reported.id, now)
        return True
