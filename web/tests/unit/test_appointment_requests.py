"""The request forms' bodies as the gateway receives them: wall-clock fields on the business's clock (DST on
fixed dates), required fields named, at most three proposed times."""

from __future__ import annotations

from multidict import MultiDict

from atrium_web.appointment_requests import instants_on_clock, local_input, wall_clock
from atrium_web.formatting import Formatter, negotiate_locale
from atrium_web.views.staff_requests import approval_body, proposal_body


def test_a_wall_clock_field_takes_the_zones_offset_of_that_day() -> None:
    # Berlin is UTC+1 in winter and UTC+2 from 29 March 2026.
    assert wall_clock("2026-03-28T14:00", "Europe/Berlin") == "2026-03-28T14:00:00+01:00"
    assert wall_clock("2026-03-30T14:00", "Europe/Berlin") == "2026-03-30T14:00:00+02:00"
    assert wall_clock("", "Europe/Berlin") is None
    assert wall_clock("tomorrow", "Europe/Berlin") is None
    assert wall_clock("2026-03-30T14:00+00:00", "Europe/Berlin") is None  # not what a datetime-local sends


def test_an_instant_shows_as_a_field_on_the_zones_clock() -> None:
    assert local_input("2026-10-24T12:00:00Z", "Europe/Berlin") == "2026-10-24T14:00"
    assert local_input("2026-10-26T12:00:00Z", "Europe/Berlin") == "2026-10-26T13:00"
    assert local_input(None, "Europe/Berlin") == ""


def test_approval_requires_a_technician_and_a_final_time() -> None:
    body, errors = approval_body(MultiDict({"start": "", "technician_id": " "}), "Europe/Berlin")
    assert set(errors) == {"technician_id", "start"}
    body, errors = approval_body(
        MultiDict(
            {
                "technician_id": "t-1",
                "start": "2026-12-17T14:00",
                "internal_notes": " Gate code ",
                "ticket": "HD-1",
                "version": "3",
            }
        ),
        "Europe/Berlin",
    )
    assert errors == {}
    assert body == {
        "technician_id": "t-1",
        "start": "2026-12-17T14:00:00+01:00",
        "internal_notes": "Gate code",
        "ticket": "HD-1",
        "version": 3,
        "override_booking_rules": False,
    }


def test_a_proposal_takes_the_times_given_and_names_a_missing_or_malformed_one() -> None:
    assert proposal_body(MultiDict({"alternative_0": ""}), "Europe/Berlin")[1] == {
        "alternatives": "Give at least one other time."
    }
    assert "alternatives" in proposal_body(MultiDict({"alternative_1": "soon"}), "Europe/Berlin")[1]
    body, errors = proposal_body(
        MultiDict({"alternative_0": "2026-12-18T10:00", "alternative_2": "2026-12-18T15:00", "version": "x"}),
        "Europe/Berlin",
    )
    assert errors == {}
    assert body == {
        "alternatives": ["2026-12-18T10:00:00+01:00", "2026-12-18T15:00:00+01:00"],
        "note": "",
        "version": 0,
    }


def test_an_api_messages_instants_read_in_the_viewers_words_and_zone() -> None:
    london = Formatter(negotiate_locale("en-GB"), "Europe/London")
    message = "appointments can be cancelled online until 2026-12-16T13:00:00+00:00; please contact the business"
    assert instants_on_clock(message, london) == (
        "appointments can be cancelled online until Wednesday, 16 December 2026, 13:00; please contact the business"
    )
    assert "10:00" in instants_on_clock("held until 2026-07-01T09:00:00Z", london)  # BST, an hour ahead
