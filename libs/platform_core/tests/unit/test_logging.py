import io
import json
import logging

import grpc
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from platform_core import observability
from platform_core.db import create_engine
from platform_core.observability import setup_logging


def test_log_lines_are_json_with_the_current_trace_id() -> None:
    setup_logging("tests", "INFO")
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    handler.setStream(buffer)
    tracer = TracerProvider().get_tracer("tests")
    with tracer.start_as_current_span("work") as span:
        logging.getLogger("tests").info("inside a span")
    line = json.loads(buffer.getvalue().strip().splitlines()[-1])
    assert line["message"] == "inside a span"
    assert line["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert line["service"] == "tests" and line["level"] == "INFO"
    assert trace.get_current_span().get_span_context().is_valid is False


def test_without_an_exporter_no_instrumentation_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    # The test plugin set telemetry up with no exporter, as a process without one does.
    assert not observability.tracing_enabled()
    engine = create_engine("postgresql+asyncpg://atrium@127.0.0.1:1/none")
    observability.instrument_engine(engine)
    assert not engine.sync_engine.dispatch.before_cursor_execute  # no SQL span hooks
    assert grpc.aio.server.__module__ == "grpc.aio._server"  # not wrapped by OpenTelemetry's instrumentor
    monkeypatch.delenv("OTEL_TRACES_SAMPLER", raising=False)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")
    assert observability._tracing_asked()
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT")
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    assert not observability._tracing_asked()
