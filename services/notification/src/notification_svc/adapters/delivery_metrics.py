"""Delivery as OpenTelemetry metrics: attempts per channel and outcome, so a dashboard reads each channel's
failure rate (failed / all attempts over a window, summed over replicas). Exported over OTLP when the
process's telemetry exports (``platform_core.observability``); the API's no-op meter otherwise."""

from __future__ import annotations

from opentelemetry import metrics

ATTEMPTS = "atrium.notification.attempts"


class DeliveryMetrics:
    def __init__(self, meter: metrics.Meter | None = None) -> None:
        meter = meter or metrics.get_meter("atrium.notification")
        self._attempts = meter.create_counter(
            ATTEMPTS,
            unit="{attempt}",
            description="Messages handed to a channel's provider, by channel and outcome (sent, failed, unknown)",
        )

    def attempted(self, channel: str, outcome: str) -> None:
        self._attempts.add(1, {"channel": channel, "outcome": outcome})
