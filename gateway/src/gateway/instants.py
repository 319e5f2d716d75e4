"""Instants written as JSON text: what protobuf's ``Timestamp.ToJsonString`` writes, without its (slow) writer.

Every record the API answers carries a few instants (a client's created_at and updated_at, an appointment's start
and end, thousands of slot starts in an availability answer), and they repeat the same whole seconds request after
request, so the whole-second text is cached and only the fraction is written each time.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp

_EPOCH = datetime(1970, 1, 1)


def when(t: Timestamp) -> str:
    """RFC 3339 in UTC with 0, 3, 6 or 9 fractional digits, as few as the instant needs (as protobuf writes it)."""
    nanos = t.nanos
    whole = whole_seconds_text(t.seconds)
    if not nanos:
        return whole
    if not nanos % 1_000_000:
        return f"{whole[:-1]}.{nanos // 1_000_000:03d}Z"
    if not nanos % 1_000:
        return f"{whole[:-1]}.{nanos // 1_000:06d}Z"
    return f"{whole[:-1]}.{nanos:09d}Z"


@functools.lru_cache(maxsize=8192)
def whole_seconds_text(seconds: int) -> str:
    """What ``Timestamp.ToJsonString`` writes for a whole second (RFC 3339, UTC, no fraction)."""
    return (_EPOCH + timedelta(seconds=seconds)).isoformat() + "Z"
