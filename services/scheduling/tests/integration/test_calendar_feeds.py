"""Calendar feeds and .ics files over gRPC, against real PostgreSQL: who may issue, rotate and revoke them,
what they show, and that ordinary calendar programs read them with the right local times.

The programs: khal (from PyPI, a dev requirement, so this runs everywhere the tests run) and calcurse (a
Debian package; its test runs where it is installed and says why it is skipped elsewhere).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from icalendar import Calendar
from sqlalchemy import text

from atrium.client.v1 import client_service_pb2 as client_pb
from atrium.client.v1 import client_service_pb2_grpc as client_grpc
from atrium.common.v1 import types_pb2
from atrium.scheduling.v1 import appointments_pb2 as pb
from atrium.scheduling.v1 import appointments_pb2_grpc as pb_grpc
from atrium.scheduling.v1 import calendar_pb2 as cal
from atrium.scheduling.v1 import calendar_pb2_grpc as cal_grpc
from atrium.scheduling.v1 import catalogue_pb2 as cat
from atrium.scheduling.v1 import catalogue_pb2_grpc as cat_grpc
from platform_core.db import create_engine
from platform_core.grpc.context import CallContext, Principal, bind_call_context
from scheduling_svc.config import SchedulingServiceSettings

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")
ALL_WEEK_9_TO_17 = [cat.DayHours(weekday=d, ranges=[cat.TimeRange(start="09:00", end="17:00")]) for d in range(7)]


def ts(value: datetime) -> Timestamp:
    t = Timestamp()
    t.FromDatetime(value)
    return t


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN)


@dataclass
class Shop:
    tenant: uuid.UUID
    anna: str  # an owner
    ben: str  # a staff member
    haircut: str
    colour: str
    clients: list[str]

    def staff(self, staff_id: str, role: str = "staff") -> CallContext:
        return CallContext(self.tenant, Principal("staff", staff_id, role))

    def owner(self) -> CallContext:
        return self.staff(self.anna, "owner")

    def portal(self, client_id: str) -> CallContext:
        return CallContext(self.tenant, Principal("portal", str(uuid.uuid4()), "", client_id))

    def gateway(self) -> CallContext:
        """As the gateway's public route calls: the tenant named by the token, a service principal."""
        return CallContext(self.tenant, Principal.service("gateway"))


@pytest.fixture
def catalogue(scheduling_channel: grpc.aio.Channel) -> cat_grpc.CatalogueServiceStub:
    return cat_grpc.CatalogueServiceStub(scheduling_channel)


@pytest.fixture
def appointments(scheduling_channel: grpc.aio.Channel) -> pb_grpc.AppointmentServiceStub:
    return pb_grpc.AppointmentServiceStub(scheduling_channel)


@pytest.fixture
def calendars(scheduling_channel: grpc.aio.Channel) -> cal_grpc.CalendarServiceStub:
    return cal_grpc.CalendarServiceStub(scheduling_channel)


@pytest.fixture
def clients(client_channel: grpc.aio.Channel) -> client_grpc.ClientRecordsStub:
    return client_grpc.ClientRecordsStub(client_channel)


async def open_shop(catalogue: cat_grpc.CatalogueServiceStub, clients: client_grpc.ClientRecordsStub) -> Shop:
    tenant = uuid.uuid4()
    anna, ben = str(uuid.uuid4()), str(uuid.uuid4())
    with bind_call_context(CallContext(tenant, Principal("staff", anna, "owner"))):
        await catalogue.UpdateSchedulingSettings(
            cat.SchedulingSettings(
                timezone="Europe/Berlin",
                slot_rules=cat.SlotRules(granularity_minutes=30, min_notice_minutes=60, horizon_days=60),
            )
        )
        for staff_id, name in ((anna, "Anna"), (ben, "Ben")):
            await catalogue.PutStaffMember(
                cat.StaffMember(
                    staff_id=staff_id,
                    display_name=name,
                    timezone="Europe/Berlin",
                    weekly_hours=ALL_WEEK_9_TO_17,
                    active=True,
                )
            )
        services = [
            await catalogue.CreateService(
                cat.ServiceInput(
                    name=name,
                    duration_minutes=minutes,
                    price=types_pb2.Money(amount_minor=4500, currency="EUR"),
                    capacity=1,
                    staff_ids=staff_ids,
                )
            )
            # Only Ben colours: a haircut with Anna and a colour is a booking with two staff members.
            for name, minutes, staff_ids in (("Haircut", 60, [anna, ben]), ("Colour", 30, [ben]))
        ]
        client_ids = [
            (await clients.CreateClient(client_pb.CreateClientRequest(first_name=name, last_name="Private"))).id
            for name in ("Mia", "Noah")
        ]
    return Shop(tenant, anna, ben, services[0].id, services[1].id, client_ids)


async def book(
    stub: pb_grpc.AppointmentServiceStub, client: str, start: datetime, *segments: tuple[str, str], notes: str = ""
) -> pb.Appointment:
    return await stub.BookAppointment(
        pb.BookAppointmentRequest(
            client_id=client,
            segments=[pb.SegmentRequest(service_id=service, staff_id=staff) for service, staff in segments],
            start=ts(start),
            notes=notes,
        )
    )


def owner(kind: str, owner_id: str) -> cal.FeedOwner:
    return cal.FeedOwner(kind=kind, id=owner_id)


async def issue(stub: cal_grpc.CalendarServiceStub, kind: str, owner_id: str, **options: bool) -> cal.IssuedFeed:
    return await stub.IssueFeed(cal.IssueFeedRequest(owner=owner(kind, owner_id), **options))


async def render(stub: cal_grpc.CalendarServiceStub, shop: Shop, token: str) -> bytes:
    with bind_call_context(shop.gateway()):
        return bytes((await stub.RenderFeed(cal.RenderFeedRequest(token=token))).content)


async def code_of(call: object) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call  # type: ignore[misc]
    return raised.value.code()


def events(content: bytes) -> dict[str, Any]:
    return {str(e["uid"]).removesuffix("@atrium"): e for e in Calendar.from_ical(content).walk("VEVENT")}


def days_across_a_new_york_clock_change(after: date) -> tuple[date, date]:
    """Two days within the feed's year ahead on which 10:00 in Berlin is a different hour in New York."""
    first = after
    hour = local(first, 10).astimezone(NEW_YORK).hour
    day = first + timedelta(days=1)
    while local(day, 10).astimezone(NEW_YORK).hour == hour:
        day += timedelta(days=1)
    assert (day - date.today()).days < 300
    return first, day


async def test_a_staff_feed_shows_their_own_services_and_follows_changes(
    catalogue: cat_grpc.CatalogueServiceStub,
    appointments: pb_grpc.AppointmentServiceStub,
    calendars: cal_grpc.CalendarServiceStub,
    clients: client_grpc.ClientRecordsStub,
) -> None:
    shop = await open_shop(catalogue, clients)
    mia, noah = shop.clients
    day = (datetime.now(BERLIN) + timedelta(days=7)).date()
    with bind_call_context(shop.owner()):
        own = await book(appointments, mia, local(day, 10), (shop.haircut, shop.ben), notes="allergic to ammonia")
        shared = await book(appointments, noah, local(day, 13), (shop.haircut, shop.anna), (shop.colour, shop.ben))
        elsewhere = await book(appointments, mia, local(day, 15), (shop.haircut, shop.anna))
        cancelled = await book(appointments, noah, local(day + timedelta(days=1), 9), (shop.haircut, shop.ben))
        await appointments.CancelAppointment(
            pb.CancelAppointmentRequest(appointment_id=cancelled.id, reason="ill", version=cancelled.version)
        )
    with bind_call_context(shop.staff(shop.ben)):
        issued = await issue(calendars, "staff", shop.ben)
    assert issued.feed.owner.id == shop.ben and not issued.feed.HasField("revoked_at")
    content = await render(calendars, shop, issued.token)
    found = events(content)
    assert set(found) == {own.id, shared.id}  # not Anna's alone, not the cancelled one
    colour = found[shared.id]
    assert str(colour["summary"]) == "Colour"
    assert colour.decoded("dtstart") == local(day, 14) and colour.decoded("dtend") == local(day, 14, 30)
    assert str(Calendar.from_ical(content)["x-wr-calname"]) == "Appointments: Ben"
    # Nothing about the clients: not their names, ids or the staff's notes.
    for private in (b"Mia", b"Noah", b"Private", b"ammonia", mia.encode(), noah.encode()):
        assert private not in content
    assert elsewhere.id not in content.decode()

    with bind_call_context(shop.owner()):
        moved = await appointments.RescheduleAppointment(
            pb.RescheduleAppointmentRequest(appointment_id=own.id, start=ts(local(day, 11)), version=own.version)
        )
    event = events(await render(calendars, shop, issued.token))[own.id]
    assert event.decoded("dtstart") == local(day, 11)
    assert int(event["sequence"]) == moved.version == own.version + 1
    assert event.decoded("dtstamp") == moved.updated_at.ToDatetime(tzinfo=UTC).replace(microsecond=0)

    # A feed that keeps cancelled appointments shows them as cancelled.
    with bind_call_context(shop.staff(shop.ben)):
        with_cancelled = await issue(calendars, "staff", shop.ben, include_cancelled=True)
    kept = events(await render(calendars, shop, with_cancelled.token))
    assert str(kept[cancelled.id]["status"]) == "CANCELLED" and str(kept[own.id]["status"]) == "CONFIRMED"


async def test_feeds_rotate_revoke_and_answer_not_found_for_anything_but_a_live_token(
    catalogue: cat_grpc.CatalogueServiceStub,
    calendars: cal_grpc.CalendarServiceStub,
    clients: client_grpc.ClientRecordsStub,
    scheduling_settings: SchedulingServiceSettings,
) -> None:
    shop = await open_shop(catalogue, clients)
    other = await open_shop(catalogue, clients)
    with bind_call_context(shop.staff(shop.ben)):
        first = await issue(calendars, "staff", shop.ben)
        second = await issue(calendars, "staff", shop.ben)  # rotation: the first one stops working
        assert await code_of(issue(calendars, "staff", shop.anna)) == grpc.StatusCode.PERMISSION_DENIED
        assert await code_of(issue(calendars, "staff", str(uuid.uuid4()))) == grpc.StatusCode.PERMISSION_DENIED
        listed = await calendars.ListFeeds(cal.ListFeedsRequest(owner=owner("staff", shop.ben)))
    assert [f.id for f in listed.feeds] == [second.feed.id, first.feed.id]
    assert listed.feeds[1].HasField("revoked_at") and not listed.feeds[0].HasField("revoked_at")
    assert await code_of(render(calendars, shop, first.token)) == grpc.StatusCode.NOT_FOUND
    assert b"BEGIN:VCALENDAR" in await render(calendars, shop, second.token)

    tenant_hex, feed_hex, secret = second.token.split(".")
    tampered = f"{tenant_hex}.{feed_hex}.{secret[:-1]}{'A' if secret[-1] != 'A' else 'B'}"
    assert await code_of(render(calendars, shop, tampered)) == grpc.StatusCode.NOT_FOUND
    assert await code_of(render(calendars, shop, "nonsense")) == grpc.StatusCode.NOT_FOUND
    # The token names its tenant: presented in another tenant's context it names nothing.
    assert await code_of(render(calendars, other, second.token)) == grpc.StatusCode.NOT_FOUND

    with bind_call_context(shop.owner()):
        # Owners and admins manage anyone's feed; an unknown staff member has no schedule to show.
        anna_for_ben = await issue(calendars, "staff", shop.ben)
        assert await code_of(issue(calendars, "staff", str(uuid.uuid4()))) == grpc.StatusCode.NOT_FOUND
        assert await code_of(issue(calendars, "client", str(uuid.uuid4()))) == grpc.StatusCode.NOT_FOUND
        revoked = await calendars.RevokeFeed(
            cal.RevokeFeedRequest(owner=owner("staff", shop.ben), feed_id=anna_for_ben.feed.id)
        )
        assert revoked.HasField("revoked_at")
        again = await calendars.RevokeFeed(
            cal.RevokeFeedRequest(owner=owner("staff", shop.ben), feed_id=anna_for_ben.feed.id)
        )
        assert again.revoked_at == revoked.revoked_at
        wrong_owner = calendars.RevokeFeed(
            cal.RevokeFeedRequest(owner=owner("staff", shop.anna), feed_id=second.feed.id)
        )
        assert await code_of(wrong_owner) == grpc.StatusCode.NOT_FOUND
    assert await code_of(render(calendars, shop, anna_for_ben.token)) == grpc.StatusCode.NOT_FOUND

    mia, noah = shop.clients
    with bind_call_context(shop.portal(mia)):
        mine = await issue(calendars, "client", mia)
        assert await code_of(issue(calendars, "client", noah)) == grpc.StatusCode.NOT_FOUND
        assert await code_of(issue(calendars, "staff", shop.ben)) == grpc.StatusCode.PERMISSION_DENIED
    assert b"My appointments" in await render(calendars, shop, mine.token)

    # Only a hash of the secret is stored.
    engine = create_engine(scheduling_settings.database_url("scheduling"))
    try:
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    text("SELECT * FROM calendar_feeds WHERE tenant_id = :t AND id = :id"),
                    {"t": shop.tenant, "id": uuid.UUID(mine.feed.id)},
                )
            ).one()
    finally:
        await engine.dispose()
    secret = mine.token.split(".")[2]
    assert bytes(row.token_hash) == hashlib.sha256(secret.encode()).digest()
    assert secret not in str(tuple(row))


async def test_an_appointment_as_an_ics_file_for_staff_and_for_its_own_client_only(
    catalogue: cat_grpc.CatalogueServiceStub,
    appointments: pb_grpc.AppointmentServiceStub,
    calendars: cal_grpc.CalendarServiceStub,
    clients: client_grpc.ClientRecordsStub,
) -> None:
    shop = await open_shop(catalogue, clients)
    mia, noah = shop.clients
    day = (datetime.now(BERLIN) + timedelta(days=3)).date()
    with bind_call_context(shop.staff(shop.ben)):
        booked = await book(appointments, mia, local(day, 9), (shop.haircut, shop.anna), (shop.colour, shop.ben))
        file = await calendars.AppointmentIcs(cal.AppointmentIcsRequest(appointment_id=booked.id))
    assert file.filename == f"appointment-{day.isoformat()}.ics"
    (event,) = events(file.content).values()
    assert str(event["uid"]) == f"{booked.id}@atrium"
    assert event.decoded("dtstart") == local(day, 9) and event.decoded("dtend") == local(day, 10, 30)
    assert str(event["description"]) == "Haircut with Anna\nColour with Ben"
    with bind_call_context(shop.portal(mia)):
        own = await calendars.AppointmentIcs(cal.AppointmentIcsRequest(appointment_id=booked.id))
        assert own.content == file.content
    with bind_call_context(shop.portal(noah)):
        other = calendars.AppointmentIcs(cal.AppointmentIcsRequest(appointment_id=booked.id))
        assert await code_of(other) == grpc.StatusCode.NOT_FOUND


# --- ordinary calendar programs ------------------------------------------------------------------


@dataclass
class Expected:
    uid: str
    start: datetime
    end: datetime

    def wall(self, zone: ZoneInfo) -> tuple[str, str]:
        return (
            self.start.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            self.end.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
        )


async def client_feed_across_a_clock_change(
    catalogue: cat_grpc.CatalogueServiceStub,
    appointments: pb_grpc.AppointmentServiceStub,
    calendars: cal_grpc.CalendarServiceStub,
    clients: client_grpc.ClientRecordsStub,
) -> tuple[bytes, list[Expected]]:
    """A client's feed with appointments at 10:00 Berlin time on both sides of a New York clock change."""
    shop = await open_shop(catalogue, clients)
    mia = shop.clients[0]
    first, second = days_across_a_new_york_clock_change((datetime.now(BERLIN) + timedelta(days=2)).date())
    with bind_call_context(shop.owner()):
        one = await book(appointments, mia, local(first, 10), (shop.haircut, shop.anna), (shop.colour, shop.ben))
        two = await book(appointments, mia, local(second, 10), (shop.haircut, shop.ben))
    with bind_call_context(shop.portal(mia)):
        token = (await issue(calendars, "client", mia)).token
    expected = [
        Expected(f"{one.id}@atrium", local(first, 10), local(first, 11, 30)),
        Expected(f"{two.id}@atrium", local(second, 10), local(second, 11)),
    ]
    return await render(calendars, shop, token), expected


async def test_a_feed_parses_with_icalendar_with_the_right_times_in_two_zones(
    catalogue: cat_grpc.CatalogueServiceStub,
    appointments: pb_grpc.AppointmentServiceStub,
    calendars: cal_grpc.CalendarServiceStub,
    clients: client_grpc.ClientRecordsStub,
) -> None:
    content, expected = await client_feed_across_a_clock_change(catalogue, appointments, calendars, clients)
    parsed = Calendar.from_ical(content)
    starts = {str(e["uid"]): (e.decoded("dtstart"), e.decoded("dtend")) for e in parsed.walk("VEVENT")}
    assert set(starts) == {e.uid for e in expected}
    for e in expected:
        start, end = starts[e.uid]
        # Absolute times (UTC), not floating ones a program would read in whatever zone it runs in.
        assert start.utcoffset() == end.utcoffset() == timedelta(0)
        for zone in (BERLIN, NEW_YORK):
            assert (
                start.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                end.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            ) == e.wall(zone)
        assert start.astimezone(BERLIN).strftime("%H:%M") == "10:00"
    # The clock change is real: the same Berlin hour is two different New York hours.
    assert len({e.start.astimezone(NEW_YORK).hour for e in expected}) == 2


def _program(name: str) -> str | None:
    return shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)


async def _run(command: list[str], env: dict[str, str]) -> str:
    done = await asyncio.to_thread(
        subprocess.run, command, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, f"{command[0]} failed: {done.stdout}\n{done.stderr}"
    return done.stdout


async def test_khal_imports_a_feed_and_shows_each_appointment_at_its_new_york_time(
    catalogue: cat_grpc.CatalogueServiceStub,
    appointments: pb_grpc.AppointmentServiceStub,
    calendars: cal_grpc.CalendarServiceStub,
    clients: client_grpc.ClientRecordsStub,
    tmp_path: Path,
) -> None:
    khal = _program("khal")
    assert khal is not None, "khal comes with the dev requirements (make install)"
    content, expected = await client_feed_across_a_clock_change(catalogue, appointments, calendars, clients)
    feed = tmp_path / "feed.ics"
    feed.write_bytes(content)
    (tmp_path / "calendar").mkdir()
    config = tmp_path / "khal.conf"
    config.write_text(
        "[calendars]\n[[atrium]]\n"
        f"path = {tmp_path / 'calendar'}\ntype = calendar\n"
        "[locale]\nlocal_timezone = America/New_York\ndefault_timezone = America/New_York\n"
        "timeformat = %H:%M\ndateformat = %Y-%m-%d\nlongdateformat = %Y-%m-%d\n"
        "datetimeformat = %Y-%m-%d %H:%M\nlongdatetimeformat = %Y-%m-%d %H:%M\n"
        f"[sqlite]\npath = {tmp_path / 'khal.db'}\n"
    )
    env = os.environ | {"XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_DATA_HOME": str(tmp_path / "data")}
    await _run([khal, "-c", str(config), "import", "--batch", "-a", "atrium", str(feed)], env)
    first = min(e.start for e in expected).astimezone(NEW_YORK).date()
    days = (max(e.start for e in expected).astimezone(NEW_YORK).date() - first).days + 2
    listed = await _run(
        [
            khal,
            "-c",
            str(config),
            "list",
            "--day-format",
            "",
            "--format",
            "{uid}|{start}|{end}",
            str(first),
            f"{days}d",
        ],
        env,
    )
    shown = {line.split("|")[0]: tuple(line.split("|")[1:3]) for line in listed.splitlines() if "|" in line}
    assert shown == {e.uid: e.wall(NEW_YORK) for e in expected}


@pytest.mark.skipif(
    _program("calcurse") is None,
    reason="calcurse is not installed (Debian: apt-get install calcurse); khal's test covers a calendar program",
)
async def test_calcurse_imports_a_feed_and_shows_each_appointment_at_its_tokyo_time(
    catalogue: cat_grpc.CatalogueServiceStub,
    appointments: pb_grpc.AppointmentServiceStub,
    calendars: cal_grpc.CalendarServiceStub,
    clients: client_grpc.ClientRecordsStub,
    tmp_path: Path,
) -> None:
    calcurse = _program("calcurse")
    assert calcurse is not None
    content, expected = await client_feed_across_a_clock_change(catalogue, appointments, calendars, clients)
    feed = tmp_path / "feed.ics"
    feed.write_bytes(content)
    # calcurse keeps wall-clock times of the zone it runs in (TZ), converted from UTC when it imports.
    env = os.environ | {"TZ": "Asia/Tokyo", "HOME": str(tmp_path)}
    dirs = ["-D", str(tmp_path), "-C", str(tmp_path)]
    await _run([calcurse, *dirs, "-i", str(feed)], env)
    first = min(e.start for e in expected).astimezone(TOKYO).date()
    days = (max(e.start for e in expected).astimezone(TOKYO).date() - first).days + 2
    listed = await _run(
        [
            calcurse,
            *dirs,
            "--input-datefmt",
            "4",
            "-Q",
            "--from",
            first.isoformat(),
            "--days",
            str(days),
            "--format-apt",
            "%(start:%Y-%m-%d %H:%M)|%(end:%Y-%m-%d %H:%M)|%m\\n",
        ],
        env,
    )
    shown = sorted(tuple(line.split("|")[:2]) for line in listed.splitlines() if line.count("|") == 2)
    assert shown == sorted(e.wall(TOKYO) for e in expected)
