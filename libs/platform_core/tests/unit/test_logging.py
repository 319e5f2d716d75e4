import io
import json
import logging

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

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
