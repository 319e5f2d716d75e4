"""Client events in: merges re-point a client's appointments and series (an unmerge returns them), an erasure
removes the personal text scheduling holds."""

from __future__ import annotations

from platform_core.client_following import client_following_subscriptions
from platform_core.messaging.consumer import Subscription
from scheduling_svc.adapters import client_links


def client_subscriptions() -> list[Subscription]:
    return client_following_subscriptions(
        client_links.FOLLOWING, erase=client_links.anonymize_client, after_move=client_links.RECORD_MOVES
    )
