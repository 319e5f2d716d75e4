from __future__ import annotations

from typing import ClassVar

from platform_core.config import ServiceSettings


class ClientSettings(ServiceSettings):
    unit: ClassVar[str] = "client"
