from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from platform_core.config import ServiceSettings


class PortalRequestsSettings(ServiceSettings):
    unit: ClassVar[str] = "portal_requests"

    # Pending requests one client may have at a time, and how far ahead a preferred time may lie.
    max_open_requests_per_client: int = Field(default=5, ge=1, le=100)
    request_horizon_days: int = Field(default=365, ge=1, le=730)
    # How often the expiry job looks for requests whose every preferred time has passed.
    expiry_interval_seconds: float = Field(default=60.0, gt=0, le=86_400)
    expiry_batch_size: int = Field(default=200, ge=1, le=5000)
    # How long the code emailed to a public booking page visitor may confirm their request.
    public_request_code_ttl_seconds: int = Field(default=600, ge=60, le=86_400)
    # Days a public booking page request (what the visitor typed) is kept, confirmed or not.
    public_request_retention_days: int = Field(default=30, ge=1, le=3650)
    # How often the tentative holds no pending request owns are looked for and given back, and how old a hold
    # must be to be looked at (a submission placing one is usually still running meanwhile).
    hold_reconcile_interval_seconds: float = Field(default=60.0, gt=0, le=86_400)
    hold_reconcile_grace_seconds: float = Field(default=60.0, ge=0, le=86_400)
