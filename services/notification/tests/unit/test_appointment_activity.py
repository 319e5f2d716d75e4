"""Appointment summaries on the timeline: the appointment's wall-clock, across DST changes (fixed dates)."""

from __future__ import annotations

from datetime import UTC, datetime

from notification_svc.domain import appointment_activity as activity
from notification_svc.domain.model import anonymous_summary, requests_need_approval_summary


def test_times_read_on_the_appointments_own_clock_across_a_dst_change() -> None:
    # New York leaves DST on 1 Nov 2026: 14:00 UTC is 10:00 EDT the day before and 09:00 EST that day.
    before, after = datetime(2026, 10, 31, 14, tzinfo=UTC), datetime(2026, 11, 1, 14, tzinfo=UTC)
    assert activity.wall_clock(before, "America/New_York") == "Sat 31 Oct 2026, 10:00 America/New_York"
    assert activity.wall_clock(after, "America/New_York") == "Sun 1 Nov 2026, 09:00 America/New_York"
    assert (
        activity.rescheduled_summary(["Massage"], before, after, "America/New_York")
        == "Moved Massage from Sat 31 Oct 2026, 10:00 America/New_York to Sun 1 Nov 2026, 09:00 America/New_York"
    )


def test_an_unknown_or_missing_zone_reads_as_utc() -> None:
    at = datetime(2026, 6, 1, 7, 30, tzinfo=UTC)
    assert activity.wall_clock(at, "") == "Mon 1 Jun 2026, 07:30 UTC"
    assert activity.wall_clock(at, "Mars/Olympus") == "Mon 1 Jun 2026, 07:30 UTC"


def test_summaries_name_the_services_once_and_say_how_it_was_booked() -> None:
    at = datetime(2026, 6, 1, 7, 30, tzinfo=UTC)
    assert (
        activity.booked_summary(["Cut", "Colour", "Cut"], at, "Europe/London", source="portal_request")
        == "Booked Cut + Colour for Mon 1 Jun 2026, 08:30 Europe/London (from a portal request)"
    )
    assert activity.booked_summary([], at, "UTC", source="staff") == "Booked appointment for Mon 1 Jun 2026, 07:30 UTC"
    assert activity.completed_summary(["Cut"], None, "UTC") == "Completed Cut"
    assert activity.no_show_summary(at, "UTC") == "Did not come to the appointment of Mon 1 Jun 2026, 07:30 UTC"
    assert activity.series_created_summary(1) == "Recurring appointments booked: 1 occurrence"
    assert (
        activity.cancelled_summary(at, "UTC", cancelled_by="staff", reason="  ")
        == "Appointment of Mon 1 Jun 2026, 07:30 UTC cancelled"
    )


def test_an_erased_clients_appointment_entries_say_only_what_happened() -> None:
    assert anonymous_summary("appointment.cancelled") == "Appointment cancelled"


def test_the_repeat_no_show_rule_requiring_approval_says_until_when_and_why() -> None:
    until = datetime(2030, 4, 3, 11, tzinfo=UTC)
    assert (
        requests_need_approval_summary("3 no-shows within 30 days", until)
        == "Online requests need staff approval until 2030-04-03 11:00 UTC (3 no-shows within 30 days)"
    )
    assert requests_need_approval_summary("", until) == "Online requests need staff approval until 2030-04-03 11:00 UTC"
    assert anonymous_summary("billing.requests_need_approval") == "Online requests need staff approval"
