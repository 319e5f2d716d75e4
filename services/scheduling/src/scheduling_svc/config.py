from __future__ import annotations

from typing import ClassVar

from platform_core.config import ServiceSettings


class SchedulingServiceSettings(ServiceSettings):
    unit: ClassVar[str] = "scheduling"
