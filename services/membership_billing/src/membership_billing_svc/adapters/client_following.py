"""Billing's records of clients that were merged, unmerged or erased (client_contract.following).

A merge moves every invoice, payment, lot, package sale, check-in, subscription and applied cancellation policy
of the merged-away clients to the survivor; an unmerge returns them.
An erasure keeps the financial records (the law requires the business to keep them) and the ledger but drops
the free text that may describe the person: the notes of invoices, payments, check-ins, ledger transactions
and charges, and the reasons given for a subscription's freeze or cancellation (a package's name, which a sold
lot carries, stays). The bill-to name an issued invoice was issued with stays, as issued.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from client_contract.following import FollowingTable, MergeMove

FOLLOWING = (
    FollowingTable("invoice", "invoices", touch="version = r.version + 1, updated_at = :at"),
    FollowingTable("payment", "payments"),
    # A lot's entries never change; its holder follows the client, so balances move with it and come back.
    FollowingTable("credit_lot", "credit_lots"),
    FollowingTable("package_sale", "package_sales"),
    FollowingTable("check_in", "check_ins"),
    # The no-shows a repeat-offender rule counts follow the client too.
    FollowingTable("policy_application", "policy_applications"),
    FollowingTable("subscription", "subscriptions", touch="version = r.version + 1, updated_at = :at"),
)


async def return_later_payments(session: AsyncSession, move: MergeMove, restoring: bool) -> None:
    """On an unmerge, a payment the survivor made after the merge that paid only invoices going back to one
    merged client goes back with them, so an invoice never returns paid by another client's payment (a
    payment that also paid the survivor's own invoices stays, as it cannot be in two places)."""
    if not restoring:
        return
    await session.execute(
        text(
            "UPDATE payments p SET client_id = back.client_id FROM ("
            " SELECT a.payment_id, min(mm.original_client_id::text)::uuid AS client_id"
            " FROM payment_allocations a LEFT JOIN client_merge_moves mm ON mm.tenant_id = a.tenant_id"
            " AND mm.merge_id = :m AND mm.record_kind = 'invoice' AND mm.record_id = a.invoice_id"
            " WHERE a.tenant_id = :t GROUP BY a.payment_id"
            " HAVING count(*) = count(mm.record_id) AND count(DISTINCT mm.original_client_id) = 1"
            ") back"
            " WHERE p.tenant_id = :t AND p.id = back.payment_id AND p.client_id = :s AND NOT EXISTS ("
            " SELECT 1 FROM client_merge_moves moved WHERE moved.tenant_id = :t AND moved.merge_id = :m"
            " AND moved.record_kind = 'payment' AND moved.record_id = p.id)"
        ),
        move.params,
    )


async def drop_personal_text(session: AsyncSession, tenant_id: uuid.UUID, client_id: uuid.UUID, at: datetime) -> None:
    params = {"t": tenant_id, "c": client_id}
    await session.execute(
        text("UPDATE invoices SET notes = '' WHERE tenant_id = :t AND client_id = :c AND notes <> ''"), params
    )
    await session.execute(
        text("UPDATE payments SET notes = '' WHERE tenant_id = :t AND client_id = :c AND notes <> ''"), params
    )
    await session.execute(
        text(
            "UPDATE subscriptions SET freeze_reason = '', cancel_reason = ''"
            " WHERE tenant_id = :t AND client_id = :c AND (freeze_reason <> '' OR cancel_reason <> '')"
        ),
        params,
    )
    # The ledger keeps every movement; only the notes written about them go.
    await session.execute(
        text("UPDATE check_ins SET note = '' WHERE tenant_id = :t AND client_id = :c AND note <> ''"), params
    )
    await session.execute(
        text(
            "UPDATE ledger_transactions t SET note = '' WHERE t.tenant_id = :t AND t.note <> '' AND t.id IN"
            " (SELECT e.transaction_id FROM ledger_entries e JOIN credit_lots l"
            " ON l.tenant_id = e.tenant_id AND l.id = e.lot_id WHERE l.tenant_id = :t AND l.client_id = :c)"
        ),
        params,
    )
    await session.execute(
        text(
            "UPDATE credit_lots SET note = '' WHERE tenant_id = :t AND client_id = :c AND note <> ''"
            " AND package_sale_id IS NULL"
        ),
        params,
    )
