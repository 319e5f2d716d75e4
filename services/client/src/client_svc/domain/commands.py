"""What callers ask the client service to do, in the imperative."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class CreateClient:
    tenant_id: uuid.UUID
    first_name: str
    last_name: str = ""
    email: str = ""
    phone: str = ""
    default_region: str = ""
    request_id: str = ""
