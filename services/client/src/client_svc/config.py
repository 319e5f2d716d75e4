from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from platform_core.config import ServiceSettings


class ClientSettings(ServiceSettings):
    unit: ClassVar[str] = "client"
    # Client imports: the largest file taken (the gateway reads the same variable), rows per transaction, and
    # where an XLSX being read is spooled (for the length of one read; the uploaded file lives in the database).
    client_import_max_bytes: int = Field(default=50 * 1024 * 1024, ge=1024, le=1024 * 1024 * 1024)
    import_batch_rows: int = Field(default=1000, ge=1, le=10_000)
    import_tmp_dir: str | None = None
    import_retention_days: int = Field(default=30, ge=1, le=3650)
