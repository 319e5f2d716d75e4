from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from platform_core.config import ServiceSettings


class SchedulingServiceSettings(ServiceSettings):
    unit: ClassVar[str] = "scheduling"

    # Recurring series: occurrences are booked this many days ahead (the rolling horizon), at most this many at a
    # time, and a background job extends every series at this interval.
    series_horizon_days: int = Field(default=180, ge=7, le=730)
    series_batch_size: int = Field(default=200, ge=1, le=1000)
    series_extend_interval_seconds: float = Field(default=600.0, gt=0, le=86_400)
