"""The gateway writes instants without protobuf's own (slow) writer, and renders availability answered as columns:
the text must be the same."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import given
from hypothesis import strategies as st

from atrium.scheduling.v1 import appointments_pb2 as pb
from gateway.instants import when
from gateway.routes.scheduling import micros_text, slots_json

FIRST, LAST = datetime(1900, 1, 1, tzinfo=UTC), datetime(2999, 12, 31, 23, 59, 59, tzinfo=UTC)
# Every instant a Timestamp can hold: 0001-01-01 to 9999-12-31, any nanosecond.
TIMESTAMP_SECONDS = st.integers(-62_135_596_800, 253_402_300_799)
NANOS = st.one_of(
    st.just(0),
    st.integers(0, 999).map(lambda ms: ms * 1_000_000),
    st.integers(0, 999_999).map(lambda us: us * 1_000),
    st.integers(0, 999_999_999),
)


@given(st.integers(int(FIRST.timestamp()), int(LAST.timestamp())), st.sampled_from([0, 0, 0, 1, 500_000_000]))
def test_an_instant_reads_as_protobuf_writes_it(seconds: int, nanos: int) -> None:
    instant = Timestamp(seconds=seconds, nanos=nanos)
    assert when(instant) == instant.ToJsonString()


@given(TIMESTAMP_SECONDS, NANOS)
def test_any_instant_reads_as_protobuf_writes_it(seconds: int, nanos: int) -> None:
    instant = Timestamp(seconds=seconds, nanos=nanos)
    assert when(instant) == instant.ToJsonString()


@given(st.integers(int(FIRST.timestamp()), int(LAST.timestamp())), st.sampled_from([0, 0, 1, 999_999, 500_000]))
def test_an_instant_in_microseconds_reads_as_its_timestamp(seconds: int, micros: int) -> None:
    assert micros_text(seconds * 1_000_000 + micros) == Timestamp(seconds=seconds, nanos=micros * 1000).ToJsonString()


def test_a_columns_answer_renders_as_the_slots_answer_it_stands_for() -> None:
    anna, ben = "00000000-0000-0000-0000-00000000000a", "00000000-0000-0000-0000-00000000000b"
    starts = [Timestamp(seconds=1_780_000_000), Timestamp(seconds=1_780_001_800, nanos=250_000_000)]
    slots = pb.FindAvailableSlotsResponse(
        timezone="Europe/Berlin",
        slots=[
            pb.Slot(start=starts[0], local_start="2026-05-28T22:26+02:00", staff_ids=[anna, ben]),
            pb.Slot(start=starts[1], local_start="2026-05-28T22:56+02:00", staff_ids=[ben], seats_left=2),
        ],
    )
    columns = pb.FindAvailableSlotsResponse(
        timezone="Europe/Berlin",
        columns=pb.SlotColumns(
            staff_ids=[anna, ben],
            start_micros=[1_780_000_000_000_000, 1_780_001_800_250_000],
            local_starts=["2026-05-28T22:26+02:00", "2026-05-28T22:56+02:00"],
            staff_counts=[2, 1],
            staff_indexes=[0, 1, 1],
            seats_left=[0, 2],
        ),
    )
    assert slots_json(columns) == slots_json(slots)
    assert slots_json(columns)["slots"][1] == {
        "start": "2026-05-28T20:56:40.250Z",
        "local_start": "2026-05-28T22:56+02:00",
        "staff_ids": [ben],
        "options": [],
        "seats_left": 2,
    }


@given(
    st.lists(
        st.tuples(
            st.integers(1_700_000_000, 1_900_000_000),
            st.sets(st.integers(0, 5), min_size=1),
            st.sampled_from([0, 0, 1, 3]),
        ),
        max_size=40,
    )
)
def test_random_columns_render_as_the_slots_they_stand_for(picked: list[tuple[int, set[int], int]]) -> None:
    # Slots offering the same staff share one list of ids in the columns rendering: each must still be right.
    staff = [f"00000000-0000-0000-0000-00000000000{n}" for n in range(6)]
    taking = [sorted(indexes) for _, indexes, _ in picked]
    slots = pb.FindAvailableSlotsResponse(
        timezone="UTC",
        slots=[
            pb.Slot(
                start=Timestamp(seconds=at), local_start=f"{at}", staff_ids=[staff[i] for i in who], seats_left=seats
            )
            for (at, _, seats), who in zip(picked, taking, strict=True)
        ],
    )
    columns = pb.FindAvailableSlotsResponse(
        timezone="UTC",
        columns=pb.SlotColumns(
            staff_ids=staff,
            start_micros=[at * 1_000_000 for at, _, _ in picked],
            local_starts=[f"{at}" for at, _, _ in picked],
            staff_counts=[len(who) for who in taking],
            staff_indexes=[i for who in taking for i in who],
            seats_left=[seats for _, _, seats in picked],
        ),
    )
    assert slots_json(columns) == slots_json(slots)
