"""The right to erasure: a client's personal data is blanked for good; the record itself stays.

Other services hold the client id (appointments, invoices), so the row is kept, anonymized: it reads
"Erased client", is hidden from lists and search, and can never be edited, restored, merged or
unmerged into again. Kept, because they are not about the person or the law requires them: the id, when
the record was created and erased, its status and booking block, how it came (source), how it is
invoiced and its opening balance (financial records stay with billing, keyed by client id).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from client_svc.domain.model import Client
from platform_core.errors import FailedPrecondition, InvalidArgument

ERASED_NAME = "Erased client"

# Blanked on erasure: attribute -> its erased value. (Tags and staff assignments are removed; notes with
# every revision, group memberships and the other per-client records are deleted by adapters.)
ERASED_VALUES: dict[str, object] = {
    "first_name": ERASED_NAME,
    "last_name": "",
    "email": None,
    "phone": None,
    "request_id": None,
    "kind": "individual",
    "company_name": "",
    "address_line1": "",
    "address_line2": "",
    "address_city": "",
    "address_region": "",
    "address_postal_code": "",
    "address_country": "",
    "date_of_birth": None,
    "preferred_language": "",
    "timezone": "",
}


@dataclass(frozen=True)
class ClientErased:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    occurred_at: datetime


def check_confirmed(confirm: bool) -> None:
    if not confirm:
        raise InvalidArgument.single("confirm", "erasure is irreversible; confirm it explicitly")


def erase(client: Client, *, now: datetime) -> bool:
    """Blank the client's personal data. False, and nothing changes, when it was already erased."""
    if client.erased_at is not None:
        return False
    for attr, value in ERASED_VALUES.items():
        setattr(client, attr, value)
    client.tag_rows[:] = []
    client.assignments[:] = []
    stamp = max(now, client.created_at)
    if client.deleted_at is None:
        client.deleted_at = stamp
    client.erased_at = stamp
    client._touch(now)
    client.events.append(ClientErased(client.tenant_id, client.id, now))
    return True


def erase_with_absorbed(client: Client, absorbed: Sequence[Client], *, now: datetime) -> list[Client]:
    """Erase a client and the clients merged into it (they are the same person); returns those erased now.

    A merged-away record is erased through the client it was merged into, never on its own."""
    if client.erased_at is not None:
        return []
    if client.merged_into is not None:
        raise FailedPrecondition(
            f"the client was merged into client {client.merged_into}; erase that one (it erases both)",
            reason="CLIENT_MERGED",
        )
    return [c for c in (client, *absorbed) if erase(c, now=now)]
