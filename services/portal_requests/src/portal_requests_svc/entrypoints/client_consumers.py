"""Client events in: merges re-point a client's requests (an unmerge returns them), changes refresh the kept
name, email and phone, an erasure drops the client's messages and contact."""

from __future__ import annotations

from client_contract.following import client_following_subscriptions
from platform_core.messaging.consumer import Subscription
from portal_requests_svc.adapters import client_changes


def client_subscriptions() -> list[Subscription]:
    return [
        *client_following_subscriptions(
            client_changes.FOLLOWING, erase=client_changes.drop_client_text, after_move=client_changes.RECORD_MOVES
        ),
        *client_changes.CONTACT_SUBSCRIPTIONS,
    ]
