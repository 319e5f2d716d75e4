"""What billing's membership, credit, points and policy events tell the client: a membership activated,
frozen, renewed, cancelled, expiring (within the business's notice, as billing judges it) or expired; a
credit balance that a use brought down to the low-balance threshold; points earned; a cancellation or
no-show fee charged (or credits forfeited)."""

from __future__ import annotations

# Each kind's category: what tells of a change the client's money or access depends on is transactional
# (always sent); what only nudges is a reminder the client may switch off.
MEMBERSHIP_CATEGORIES = {
    "membership.activated": "transactional",
    "membership.frozen": "transactional",
    "membership.renewed": "transactional",
    "membership.cancelled": "transactional",
    "membership.expired": "transactional",
    "membership.expiring": "reminders",
    "credits.low_balance": "reminders",
    "points.earned": "transactional",
    "policy.fee_charged": "transactional",
}
# Points are told in the inbox only: an email for every visit's points would be noise.
INBOX_ONLY = frozenset({"points.earned"})


def crossed_low_balance(balance_after: int, amount_used: int, threshold: int) -> bool:
    """A use that brought the balance to the threshold or below from above it (told once per crossing,
    not again for every later use while it stays low)."""
    return balance_after <= threshold < balance_after + amount_used
