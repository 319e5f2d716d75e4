"""The gateway writes instants of whole seconds without protobuf's own (slow) writer: the text must be the same."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import given
from hypothesis import strategies as st

from gateway.routes.scheduling import when

FIRST, LAST = datetime(1900, 1, 1, tzinfo=UTC), datetime(2999, 12, 31, 23, 59, 59, tzinfo=UTC)


@given(st.integers(int(FIRST.timestamp()), int(LAST.timestamp())), st.sampled_from([0, 0, 0, 1, 500_000_000]))
def test_an_instant_reads_as_protobuf_writes_it(seconds: int, nanos: int) -> None:
    instant = Timestamp(seconds=seconds, nanos=nanos)
    assert when(instant) == instant.ToJsonString()
