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
    async def settle_abandoned(self, now: datetime, limit: int) -> list[str]:
        """Fail the messages whose replica stopped while handing them to the provider (their attempt's
        outcome is unknown; they are not sent again); returns each one's channel."""

    @abc.abstractmethod
    async def record(self, results: Sequence[tuple[ClaimedMessage, Outcome]], now: datetime) -> int:
        """Apply each attempt's outcome (in a few statements for the whole batch); one whose lease was lost
        meanwhile (another replica took over, or it was cancelled) is left alone. Returns how many applied."""

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
    async def forget_client(self, tenant_id: uuid.UUID, client_id: uuid.UUID, now: datetime) -> None:
        """An erased client: what is pending for it is cancelled, and its messages keep only their kind,
        channel, state and times (no address, subject or content); its in-app notices are deleted."""

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
        WHERE (status = 'planned' AND due_at <= :now)
            -- A lease that ran out before anything was handed over (an in-app notice; a send still in flight
            -- is settled by _SETTLE_ABANDONED instead, never sent again).
            OR (status = 'sending' AND lease_until < :now AND NOT EXISTS (
                SELECT 1 FROM message_attempts a WHERE a.tenant_id = messages.tenant_id
                    AND a.message_id = messages.id AND a.number = messages.attempts + 1 AND a.outcome = 'sending'))
        ORDER BY due_at
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    ), claimed AS (
        UPDATE messages m SET status = 'sending', lease_until = :lease_until, updated_at = :now
        FROM due WHERE m.tenant_id = due.tenant_id AND m.id = due.id
        RETURNING m.tenant_id, m.id, m.kind, m.category, m.channel, m.recipient_kind, m.recipient_id,
                  m.given_address, m.client_id, m.variables, m.attempts, m.max_attempts, m.fallback_channel,
                  m.fallback_after
    ), in_flight AS (
        -- Written before anything leaves (this transaction commits before the send): a replica that stops
        -- mid-send leaves this row, and the message is not sent again (see _SETTLE_ABANDONED).
        INSERT INTO message_attempts (tenant_id, message_id, number, channel, at, outcome)
        SELECT tenant_id, id, attempts + 1, channel, :now, 'sending' FROM claimed WHERE channel <> 'in_app'
        ON CONFLICT DO NOTHING
    )
    SELECT * FROM claimed
    """
)

UNKNOWN_OUTCOME = (
    "outcome unknown: the replica sending it stopped before recording what the provider answered; "
    "not sent again, so that it cannot arrive twice (resend it if it did not arrive)"
)

# Abandoned sends: a message whose lease ran out while its attempt was in flight may have reached the
# provider (SMTP and SMS offer no idempotency key). At most once: it is failed, its attempt 'unknown'.
_SETTLE_ABANDONED = text(
    """
    WITH abandoned AS (
        SELECT m.tenant_id, m.id, m.attempts + 1 AS number FROM messages m
        JOIN message_attempts a ON a.tenant_id = m.tenant_id AND a.message_id = m.id AND a.number = m.attempts + 1
        WHERE m.status = 'sending' AND m.lease_until < :now AND a.outcome = 'sending'
        ORDER BY m.lease_until
        LIMIT :limit
        FOR UPDATE OF m SKIP LOCKED
    ), attempts AS (
        UPDATE message_attempts a SET outcome = 'unknown', at = :now, error = :error
        FROM abandoned WHERE a.tenant_id = abandoned.tenant_id AND a.message_id = abandoned.id
            AND a.number = abandoned.number
    )
    UPDATE messages m SET status = 'failed', lease_until = NULL, attempts = abandoned.number, last_error = :error,
        updated_at = :now, variables = m.variables - 'secret'
    FROM abandoned WHERE m.tenant_id = abandoned.tenant_id AND m.id = abandoned.id
    RETURNING m.channel
    """
)

_RECORD = text(
    """
    WITH r AS (
        SELECT * FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r (tenant_id uuid, id uuid, status text,
            attempts integer, previous_attempts integer, due_at timestamptz, error text, skip_reason text,
            sent boolean, to_address text, language text, subject text, provider_id text)
    )
    UPDATE messages m SET status = r.status, lease_until = NULL, attempts = r.attempts, due_at = r.due_at,
        last_error = r.error, skip_reason = r.skip_reason,
        sent_at = CASE WHEN r.sent THEN CAST(:now AS timestamptz) END,
        updated_at = CAST(:now AS timestamptz),
        to_address = CASE WHEN r.to_address = '' THEN m.to_address ELSE r.to_address END,
        language = CASE WHEN r.language = '' THEN m.language ELSE r.language END,
        subject = CASE WHEN r.subject = '' THEN m.subject ELSE r.subject END,
        provider_id = CASE WHEN r.provider_id = '' THEN m.provider_id ELSE r.provider_id END,
        -- A link or code is kept only while it may still be sent.
        variables = CASE WHEN r.status = 'planned' THEN m.variables ELSE m.variables - 'secret' END
    FROM r
    WHERE m.tenant_id = r.tenant_id AND m.id = r.id AND m.status = 'sending' AND m.attempts = r.previous_attempts
    RETURNING m.tenant_id, m.id
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

    async def settle_abandoned(self, now: datetime, limit: int) -> list[str]:
        result = await self.session.execute(_SETTLE_ABANDONED, {"now": now, "limit": limit, "error": UNKNOWN_OUTCOME})
        return [r.channel for r in result]

    async def record(self, results: Sequence[tuple[ClaimedMessage, Outcome]], now: datetime) -> int:
        if not results:
            return 0
        rows = [
            {
                "tenant_id": str(m.tenant_id),
                "id": str(m.id),
                "status": o.status.value,
                "attempts": m.attempt if o.attempted else m.attempt - 1,
                "previous_attempts": m.attempt - 1,
                "due_at": (o.retry_at or now).isoformat(),
                "error": o.error[:2000],
                "skip_reason": o.skip_reason,
                "sent": o.status in (Status.SENT, Status.DELIVERED),
                "to_address": o.to_address,
                "language": o.language,
                "subject": o.subject[:500],
                "provider_id": o.provider_id,
            }
            for m, o in results
        ]
        updated = await self.session.execute(_RECORD, {"rows": json.dumps(rows), "now": now})
        applied = {(r.tenant_id, r.id) for r in updated}
        done = [(m, o) for m, o in results if (m.tenant_id, m.id) in applied]
        # What an attempt did is a fact even when its message's lease was lost meanwhile (cancelled, or taken
        # as abandoned): its in-flight row gets the outcome; a skip was no attempt, so its row goes.
        attempts = [
            {
                "tenant_id": str(m.tenant_id),
                "message_id": str(m.id),
                "number": m.attempt,
                "channel": m.channel,
                "outcome": "sent" if o.status in (Status.SENT, Status.DELIVERED) else "failed",
                "error": o.error[:2000],
                "attempted": o.attempted,
            }
            for m, o in results
        ]
        await self.session.execute(
            text(
                "DELETE FROM message_attempts a USING jsonb_to_recordset(CAST(:rows AS jsonb)) AS r (tenant_id uuid, "
                "message_id uuid, number integer, attempted boolean) WHERE NOT r.attempted "
                "AND a.tenant_id = r.tenant_id AND a.message_id = r.message_id AND a.number = r.number "
                "AND a.outcome = 'sending'"
            ),
            {"rows": json.dumps(attempts)},
        )
        await self.session.execute(
            text(
                "INSERT INTO message_attempts (tenant_id, message_id, number, channel, at, outcome, error) "
                "SELECT tenant_id, message_id, number, channel, :now, outcome, error "
                "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r (tenant_id uuid, message_id uuid, "
                "number integer, channel text, outcome text, error text, attempted boolean) WHERE r.attempted "
                "ON CONFLICT (tenant_id, message_id, number) DO UPDATE SET outcome = excluded.outcome, "
                "error = excluded.error, at = excluded.at "
                "WHERE message_attempts.outcome IN ('sending', 'unknown')"
            ),
            {"rows": json.dumps(attempts), "now": now},
        )
        notices = [
            {
                "tenant_id": str(m.tenant_id),
                "id": str(m.id),
                "audience": m.recipient.kind,
                "recipient_id": str(m.recipient.id),
                "kind": m.kind,
                "title": o.notice[0],
                "body": o.notice[1],
            }
            for m, o in done
            if o.notice is not None and o.status == Status.DELIVERED
        ]
        if notices:
            await self.session.execute(
                text(
                    "INSERT INTO inbox_notifications (tenant_id, id, audience, recipient_id, kind, title, body, "
                    "created_at) SELECT tenant_id, id, audience, recipient_id, kind, title, body, :now "
                    "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r (tenant_id uuid, id uuid, audience text, "
                    "recipient_id uuid, kind text, title text, body text) ON CONFLICT DO NOTHING"
                ),
                {"rows": json.dumps(notices), "now": now},
            )
        for m, o in done:
            if o.fall_back:
                await self._fall_back(m.tenant_id, m.id, now)
        return len(done)

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

    async def forget_client(self, tenant_id: uuid.UUID, client_id: uuid.UUID, now: datetime) -> None:
        params = {"t": tenant_id, "c": client_id, "now": now}
        await self.session.execute(
            text(
                "UPDATE messages SET status = 'cancelled', lease_until = NULL, updated_at = :now "
                "WHERE tenant_id = :t AND client_id = :c AND status IN ('planned', 'sending')"
            ),
            params,
        )
        await self.session.execute(
            text(
                "UPDATE messages SET to_address = '', given_address = '', subject = '', variables = '{}', "
                "last_error = '', updated_at = :now WHERE tenant_id = :t AND client_id = :c"
            ),
            params,
        )
        await self.session.execute(
            text("DELETE FROM inbox_notifications WHERE tenant_id = :t AND audience = 'client' AND recipient_id = :c"),
            params,
        )
        await self.session.execute(
            text("DELETE FROM unsubscribe_links WHERE tenant_id = :t AND client_id = :c"), params
        )
        await self.session.execute(
            text("DELETE FROM preferred_channels WHERE tenant_id = :t AND client_id = :c"), params
        )
