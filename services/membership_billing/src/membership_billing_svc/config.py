from __future__ import annotations

from typing import ClassVar

from platform_core.config import ServiceSettings


class BillingSettings(ServiceSettings):
    unit: ClassVar[str] = "membership_billing"
