"""Instants written into messages as protobuf's own conversion writes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import given
from hypothesis import strategies as st

from platform_core.grpc.values import timestamp

# Fixed offsets up to a day either way, and named zones (DST included), away from the ends of datetime's range.
ZONES = st.one_of(
    st.none(),
    st.just(UTC),
    st.integers(-1439, 1439).map(lambda minutes: timezone(timedelta(minutes=minutes))),
    st.timezones(),
)
INSTANTS = st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=ZONES)


@given(INSTANTS)
def test_an_instant_is_written_as_protobuf_writes_it(value: datetime) -> None:
    expected = Timestamp()
    expected.FromDatetime(value)
    assert timestamp(value) == expected


def test_naive_instants_are_utc_and_aware_ones_are_converted() -> None:
    assert timestamp(datetime(1970, 1, 1, 0, 0, 1, 5)) == Timestamp(seconds=1, nanos=5_000)
    berlin_summer = datetime(2026, 7, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    assert timestamp(berlin_summer) == timestamp(datetime(2026, 7, 1, 10, 0, tzinfo=UTC))
    assert timestamp(datetime(1969, 12, 31, 23, 59, 59, 500_000)) == Timestamp(seconds=-1, nanos=500_000_000)
