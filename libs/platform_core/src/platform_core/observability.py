"""Tracing, metrics and structured logs, set up first thing in every process.

Metrics are exported over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT (or the metrics-specific variable) is set.

Tracing is on when OTEL_EXPORTER_OTLP_ENDPOINT (or the traces-specific variable) is set, or
OTEL_TRACES_SAMPLER asks for spans: then every operation gets trace and span ids (every log line carries
them), gRPC servers are instrumented here, outgoing calls propagate the context through
platform_core.grpc.channels.ContextChannel, SQLAlchemy per engine (``instrument_engine``), the aiohttp server by the
gateway's instrumentation, NATS by the outbox relay and consumers (message headers and the envelope).
Otherwise no instrumentation is installed at all: spans nobody reads would cost every request CPU (the
profiles of issue 9 put it near a tenth of the gateway's and the client service's), and the API's no-op
tracer leaves nothing but the light context interceptors (tenant, principal, deadline).
"""

from __future__ import annotations

import logging
import os
import sys

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from pythonjsonlogger.json import JsonFormatter
from sqlalchemy.ext.asyncio import AsyncEngine

_configured = False
_tracing = False


def tracing_enabled() -> bool:
    """Whether this process traces (decided once, by ``setup_telemetry``)."""
    return _tracing


def _tracing_asked() -> bool:
    return bool(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        or os.environ.get("OTEL_TRACES_SAMPLER")
    )


class _TraceIds(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.get_current_span().get_span_context()
        record.trace_id = format(context.trace_id, "032x") if context.is_valid else ""
        record.span_id = format(context.span_id, "016x") if context.is_valid else ""
        return True


def setup_logging(service_name: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_TraceIds())
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(trace_id)s %(span_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            static_fields={"service": service_name},
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Per-request noise from libraries stays out unless asked for.
    for noisy in ("aiohttp.access", "nats", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def setup_telemetry(service_name: str, *, log_level: str = "INFO") -> None:
    """JSON logs; when tracing is asked for, the tracer provider, exporter (if configured) and gRPC
    instrumentation. Idempotent."""
    global _configured, _tracing
    setup_logging(service_name, log_level)
    if _configured:
        return
    _configured = True
    _setup_metrics(service_name)
    _tracing = _tracing_asked()
    if not _tracing:
        return
    exporting = bool(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )
    # OTEL_TRACES_SAMPLER decides when set (the SDK reads it); otherwise every trace is recorded.
    provider = TracerProvider(resource=Resource.create({"service.name": f"atrium-{service_name}"}))
    if exporting:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)

    from opentelemetry.instrumentation.grpc import GrpcAioInstrumentorServer

    # Server spans come from OpenTelemetry's interceptor. Outgoing calls carry the trace context through
    # platform_core's own client interceptor, which already adds the tenant metadata: a second client
    # interceptor would cost a tenth of the gateway's CPU for a client span that mirrors the server's.
    GrpcAioInstrumentorServer().instrument()  # type: ignore[no-untyped-call]


def _setup_metrics(service_name: str) -> None:
    """Metrics a unit records (e.g. the notification service's delivery attempts) are exported over OTLP
    when an endpoint is set; otherwise the API's no-op meter records nothing."""
    if not (os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")):
        return
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    metrics.set_meter_provider(
        MeterProvider(
            metric_readers=[PeriodicExportingMetricReader(OTLPMetricExporter())],
            resource=Resource.create({"service.name": f"atrium-{service_name}"}),
        )
    )


def instrument_engine(engine: AsyncEngine) -> None:
    """SQL spans on this engine, when tracing is on."""
    if not _tracing:
        return
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    SQLAlchemyInstrumentor().instrument(engine=engine.sync_engine, enable_commenter=False)


def shutdown_telemetry() -> None:
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.shutdown()
    meters = metrics.get_meter_provider()
    if isinstance(meters, MeterProvider):
        meters.shutdown()
