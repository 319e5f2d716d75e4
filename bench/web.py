"""The client card page rendered by the web unit for signed-in staff, beside the gateway's card JSON.

Each of 16 sessions is its own browser-like cookie jar signed in through the web unit's sign-in form; a page
is the card plus what the page shows around it (the pending-requests badge, the portal access; the activity
pane opens on the conversation, which is the card's own timeline), all through the gateway. The raw counterpart
is the gateway's card JSON alone, 16 at a time, in the same run.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import uuid

import aiohttp

from bench.load import closed_loop
from bench.measurements import Bench, _error_notes, _ratio
from bench.report import Result

SESSIONS = 16
TARGET_RATIO = 0.5
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


async def _staff_member(bench: Bench) -> tuple[str, str]:
    email, password = f"bench-web-{uuid.uuid4().hex[:8]}@example.com", secrets.token_urlsafe(16)
    async with bench.http.post(
        bench.url("/api/v1/staff"), json={"email": email, "password": password, "role": "admin"}
    ) as response:
        assert response.status == 201, await response.text()
    return email, password


async def _signed_in(web_url: str, email: str, password: str) -> aiohttp.ClientSession:
    # unsafe: the jar keeps cookies of an IP-address host (the web unit listens on 127.0.0.1).
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1), cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with session.get(f"{web_url}/sign-in") as page:
        found = CSRF_FIELD.search(await page.text())
        assert found, "no CSRF token on the sign-in page"
    form = {"csrf_token": found.group(1), "email": email, "password": password}
    async with session.post(f"{web_url}/sign-in", data=form, allow_redirects=False) as response:
        assert response.status == 303, await response.text()
    return session


async def card_page(bench: Bench) -> Result:
    s = bench.settings
    client_id = await bench.create_client("Card")
    assert client_id
    async with bench.http.post(bench.url(f"/api/v1/clients/{client_id}/notes"), json={"body": "Prefers mornings"}):
        pass
    await bench.stack.wait_events_handled()
    email, password = await _staff_member(bench)
    sessions = [await _signed_in(bench.stack.web_url, email, password) for _ in range(SESSIONS)]
    idle: asyncio.Queue[aiohttp.ClientSession] = asyncio.Queue()
    for session in sessions:
        idle.put_nowait(session)
    page_url = f"{bench.stack.web_url}/clients/{client_id}"

    async def ours_op() -> bool:
        session = await idle.get()  # one request per session at a time, as a browser tab does
        try:
            async with session.get(page_url, allow_redirects=False) as response:
                body = await response.read()
                return response.status == 200 and b"Contact information" in body
        finally:
            idle.put_nowait(session)

    async def raw_op() -> bool:
        async with bench.http.get(bench.url(f"/api/v1/clients/{client_id}/card")) as response:
            await response.read()
            return response.status == 200

    try:
        ours = await closed_loop(ours_op, workers=SESSIONS, seconds=s.seconds, warmup=s.warmup_seconds)
        raw = await closed_loop(raw_op, workers=SESSIONS, seconds=s.seconds, warmup=s.warmup_seconds)
    finally:
        for session in sessions:
            await session.close()
    ratio = _ratio(ours.ops_per_s, raw.ops_per_s)
    return Result(
        name=f"card page via web @{SESSIONS}",
        ours=ours,
        raw=raw,
        ratio=ratio,
        target=f">={TARGET_RATIO}x",
        passed=ratio is not None and ratio >= TARGET_RATIO and ours.errors == 0,
        notes=["raw: the gateway's card JSON, 16 at a time", *_error_notes(ours, raw)],
    )
