"""A campaign through the gateway: written for a tag's clients, its audience counted (the client service's
segment less the opted-out and those without an email), sent once at its rate to a real SMTP server with
the unsubscribe link and headers, and reported: sent and skipped with the reasons."""

from __future__ import annotations

import uuid
from typing import Any

from platform_dev.testing.plugin import wait_until

from .conftest import Api
from .mailbox import Mailbox

CAMPAIGNS = "/api/v1/campaigns"
SOURCE = (
    "{% block subject %}Spring offer from {{ business_name }}{% endblock %}"
    "{% block text %}Hello {{ name }}, 20% off this week.\nUnsubscribe: {{ unsubscribe_url }}{% endblock %}"
)


async def test_a_campaign_to_a_tag_is_counted_sent_once_and_reported(api: Api, mailbox: Mailbox) -> None:
    tenant = await api.sign_up()
    token = tenant["token"]
    tag = f"spring-{uuid.uuid4().hex[:6]}"
    mark = uuid.uuid4().hex[:6]
    addresses = {name: f"{name}-{mark}@example.com" for name in ("ada", "bob", "dee")}
    clients = {
        name: await api.create_client(token, first_name=name.title(), email=email) for name, email in addresses.items()
    }
    clients["cy"] = await api.create_client(token, first_name="Cy", phone="+1 212 555 0142")
    await api.create_client(token, first_name="Untagged", email=f"other-{mark}@example.com")
    for client in clients.values():
        status, body, _ = await api.call(
            "PUT", f"/api/v1/clients/{client['id']}/tags", token=token, json={"tags": [tag]}
        )
        assert status == 200, body
    status, body, _ = await api.call(
        "PUT",
        f"/api/v1/clients/{clients['bob']['id']}/notification-preferences",
        token=token,
        json={"preferences": [{"category": "marketing", "channel": "email", "allowed": False}]},
    )
    assert status == 200, body

    status, body, _ = await api.call(
        "POST",
        CAMPAIGNS,
        token=token,
        json={"name": "Spring", "channel": "email", "source": "{% block subject %}x{% endblock %}"},
    )
    assert status == 422 and body["errors"][0]["field"] == "source"
    status, campaign, _ = await api.call(
        "POST",
        CAMPAIGNS,
        token=token,
        json={"name": "Spring", "channel": "email", "segment": {"tag": tag}, "source": SOURCE, "rate_per_minute": 600},
    )
    assert status == 201, campaign
    assert (campaign["status"], campaign["started_at"]) == ("draft", None)
    path = f"{CAMPAIGNS}/{campaign['id']}"

    status, audience, _ = await api.call("GET", f"{path}/audience", token=token)
    assert status == 200, audience
    assert audience == {"matching": 4, "recipients": 2, "opted_out": 1, "without_address": 1}

    status, sending, _ = await api.call("POST", f"{path}/send", token=token)
    assert status == 202, sending
    assert sending["report"]["recipients"] == 4
    status, again, _ = await api.call("POST", f"{path}/send", token=token)
    assert (status, again["code"]) == (409, "CAMPAIGN_ALREADY_SENT")

    async def finished() -> dict[str, Any] | None:
        _, report, _ = await api.call("GET", path, token=token)
        return report if report["status"] == "sent" else None

    report = await wait_until(finished, timeout=60)
    assert (report["report"]["sent"], report["report"]["skipped"], report["report"]["failed"]) == (2, 2, 0)
    assert sorted(s["reason"] for s in report["report"]["skip_reasons"]) == [
        "the client has no email address on record",
        "the client opted out of marketing by email",
    ]
    for name in ("ada", "dee"):
        [email] = mailbox.to(addresses[name])
        assert str(email["Subject"]).startswith("Spring offer from")
        assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert "/unsubscribe/" in Mailbox.text(email)
    assert mailbox.to(addresses["bob"]) == []
    status, listed, _ = await api.call("GET", CAMPAIGNS, token=token)
    assert status == 200 and [c["id"] for c in listed["items"]] == [campaign["id"]]

    other = await api.sign_up()
    status, _, _ = await api.call("GET", path, token=other["token"])
    assert status == 404
