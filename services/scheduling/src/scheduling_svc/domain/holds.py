"""A tentative hold: a pending appointment request keeps the slot it asks for first until it is decided. The
hold is one staff member's time at one start, taken like a booking's (the database refuses overlaps), and
shown to staff as tentative; the request's own booking releases it in the same transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from platform_core.errors import InvalidArgument

MAX_LABEL_LENGTH = 100


@dataclass(frozen=True)
class SlotHold:
    tenant_id: uuid.UUID
    id: uuid.UUID  # the holder's id (the request's)
    client_id: uuid.UUID
    service_id: uuid.UUID
    staff_id: uuid.UUID
    start: datetime
    end: datetime
    label: str
    created_at: datetime

    def is_for(self, service_id: uuid.UUID, staff_id: uuid.UUID | None, start: datetime) -> bool:
        """Whether this hold already is the slot asked for (staff None: anyone who performs the service)."""
        return self.service_id == service_id and self.start == start and staff_id in (None, self.staff_id)


def check_label(label: str) -> str:
    text = label.strip()
    if len(text) > MAX_LABEL_LENGTH:
        raise InvalidArgument.single("label", f"must be at most {MAX_LABEL_LENGTH} characters")
    return text
