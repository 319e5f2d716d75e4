"""The client record through the gateway: several emails/phones and contact persons, custom fields,
attachments, and the portal invitation email (through a real SMTP server)."""

from __future__ import annotations

import re
import uuid
from typing import Any

from platform_dev.testing.plugin import wait_until

from .conftest import E2E_ATTACHMENT_MAX_BYTES, Api
from .mailbox import Mailbox

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 64
PASSWORD = "correct horse battery"


async def kinds(api: Api, token: str, client_id: str) -> list[str]:
    status, body, _ = await api.call("GET", f"/api/v1/clients/{client_id}/activity", token=token)
    assert status == 200, body
    return [entry["kind"] for entry in body["items"]]


async def on_timeline(api: Api, token: str, client_id: str, *wanted: str) -> None:
    async def recorded() -> bool:
        return set(wanted) <= set(await kinds(api, token, client_id))

    await wait_until(recorded, timeout=15)


async def test_several_emails_and_phones_and_contact_persons(api: Api) -> None:
    token = (await api.sign_up())["token"]
    status, client, _ = await api.call(
        "POST",
        "/api/v1/clients",
        token=token,
        json={
            "first_name": "",
            "profile": {"kind": "business", "company_name": "Acme"},
            "phones": [{"value": "(212) 555-0142", "label": "work"}, {"value": "212 555 0199", "label": "mobile"}],
            "emails": [{"value": "office@acme.example", "label": "work"}],
            "contact_persons": [{"name": "Grace Hopper", "role": "Buyer", "phone": "212 555 0100"}],
        },
    )
    assert status == 201, client
    assert (client["phone"], client["email"]) == ("+12125550142", "office@acme.example")
    assert client["phones"][1] == {"value": "+12125550199", "label": "mobile", "primary": False}
    assert client["contact_persons"] == [
        {"name": "Grace Hopper", "role": "Buyer", "email": None, "phone": "+12125550100"}
    ]
    _, found, _ = await api.call("GET", "/api/v1/clients", token=token, params={"q": "212-555-0199"})
    assert [c["id"] for c in found["items"]] == [client["id"]]

    path = f"/api/v1/clients/{client['id']}"
    status, changed, _ = await api.call(
        "PATCH", path, token=token, json={"phones": [{"value": "212 555 0199", "label": "mobile", "primary": True}]}
    )
    assert (status, changed["phone"], len(changed["phones"])) == (200, "+12125550199", 1)
    status, body, _ = await api.call(
        "PATCH", path, token=token, json={"emails": [{"value": "a@x.example", "primary": True}] * 2}
    )
    assert (status, [e["field"] for e in body["errors"]]) == (422, ["emails[1].value"])
    status, body, _ = await api.call(
        "POST", "/api/v1/clients", token=token, json={"first_name": "Solo", "contact_persons": [{"name": "X"}]}
    )
    assert (status, [e["field"] for e in body["errors"]]) == (422, ["contact_persons"])

    await on_timeline(api, token, client["id"], "client.updated")
    _, timeline, _ = await api.call("GET", f"{path}/activity", token=token)
    assert timeline["items"][0]["summary"] == "Details changed: phone, phones"
    _, document, _ = await api.call("GET", f"{path}/export", token=token)
    assert document["client"]["contact_persons"][0]["name"] == "Grace Hopper"


async def test_custom_fields_are_defined_by_owners_required_on_their_forms_and_exported(api: Api) -> None:
    tenant = await api.sign_up()
    owner = tenant["token"]
    status, size, _ = await api.call(
        "POST", "/api/v1/custom-fields", token=owner, json={"label": "Shoe size", "type": "number", "required": True}
    )
    assert (status, size["key"], size["forms"]) == (201, "shoe_size", ["staff"])
    status, sports, _ = await api.call(
        "POST",
        "/api/v1/custom-fields",
        token=owner,
        json={
            "label": "Sports",
            "type": "multiple_choice",
            "options": ["Yoga", "Pilates"],
            "forms": ["portal_profile"],
        },
    )
    assert status == 201, sports
    status, body, _ = await api.call(
        "POST", "/api/v1/custom-fields", token=owner, json={"label": "X", "type": "colour"}
    )
    assert (status, [e["field"] for e in body["errors"]]) == (422, ["type"])

    status, body, _ = await api.call("POST", "/api/v1/clients", token=owner, json={"first_name": "Ada"})
    assert (status, [e["field"] for e in body["errors"]]) == (422, ["custom_fields.shoe_size"])
    status, body, _ = await api.call(
        "POST", "/api/v1/clients", token=owner, json={"first_name": "Ada", "custom_fields": {"shoe_size": "big"}}
    )
    assert (status, body["errors"][0]["message"]) == (422, "must be a number")
    client = await api.create_client(owner, custom_fields={"shoe_size": 38, "sports": ["pilates"]})
    assert client["custom_fields"] == {"shoe_size": 38, "sports": ["Pilates"]}

    status, ordered, _ = await api.call(
        "PUT", "/api/v1/custom-fields/order", token=owner, json={"ids": [sports["id"], size["id"]]}
    )
    assert [f["key"] for f in ordered["items"]] == ["sports", "shoe_size"]
    status, retired, _ = await api.call("DELETE", f"/api/v1/custom-fields/{size['id']}", token=owner)
    assert (status, retired["retired"]) == (200, True)
    _, live, _ = await api.call("GET", "/api/v1/custom-fields", token=owner)
    assert [f["key"] for f in live["items"]] == ["sports"]
    # Retiring keeps the value; a new client no longer needs it.
    _, fetched, _ = await api.call("GET", f"/api/v1/clients/{client['id']}", token=owner)
    assert fetched["custom_fields"]["shoe_size"] == 38
    await api.create_client(owner, first_name="Grace")

    _, document, _ = await api.call("GET", f"/api/v1/clients/{client['id']}/export", token=owner)
    assert {(f["label"], str(f["value"])) for f in document["custom_fields"]} == {
        ("Shoe size", "38"),
        ("Sports", "['Pilates']"),
    }


async def upload(api: Api, token: str, client_id: str, data: bytes, content_type: str, **query: str) -> Any:
    return await api.call(
        "POST",
        f"/api/v1/clients/{client_id}/attachments",
        token=token,
        data=data,
        headers={"Content-Type": content_type},
        params={"filename": "intake.pdf"} | query,
    )


async def download(api: Api, token: str, path: str) -> tuple[int, bytes, Any]:
    async with api.session.get(api.stack.url(path), headers={"Authorization": f"Bearer {token}"}) as response:
        return response.status, await response.read(), response.headers


async def test_attachments_upload_download_limits_and_timeline(api: Api) -> None:
    token = (await api.sign_up())["token"]
    client = await api.create_client(token)
    status, stored, _ = await upload(api, token, client["id"], PDF, "application/pdf")
    assert status == 201, stored
    assert (stored["content_type"], stored["size_bytes"], stored["shared_with_client"]) == (
        "application/pdf",
        len(PDF),
        False,
    )
    base = f"/api/v1/clients/{client['id']}/attachments"
    status, body, headers = await download(api, token, f"{base}/{stored['id']}/content")
    assert (status, body, headers["Content-Type"]) == (200, PDF, "application/pdf")
    assert headers["ETag"] == f'"{stored["sha256"]}"' and 'filename="intake.pdf"' in headers["Content-Disposition"]

    for data, content_type, expected, code in (
        (PDF + b"0" * E2E_ATTACHMENT_MAX_BYTES, "application/pdf", 413, "ATTACHMENT_TOO_LARGE"),
        (b"MZ\x90\x00" * 64, "application/x-msdownload", 415, "UNSUPPORTED_MEDIA_TYPE"),
        (PDF, "image/png", 422, "INVALID_ARGUMENT"),
    ):
        status, problem, headers = await upload(api, token, client["id"], data, content_type)
        assert (status, problem["code"]) == (expected, code), problem
        assert headers["Content-Type"].startswith("application/problem+json")

    status, shared, _ = await api.call(
        "PATCH", f"{base}/{stored['id']}", token=token, json={"shared_with_client": True}
    )
    assert (status, shared["shared_with_client"]) == (200, True)
    _, listed, _ = await api.call("GET", base, token=token)
    assert [a["id"] for a in listed["items"]] == [stored["id"]]
    await on_timeline(api, token, client["id"], "client.attachment_added", "client.attachment_changed")
    status, _, _ = await api.call("DELETE", f"{base}/{stored['id']}", token=token)
    assert status == 200
    status, _, _ = await download(api, token, f"{base}/{stored['id']}/content")
    assert status == 404
    _, spec, _ = await api.call("GET", "/api/openapi.json")
    assert (
        "application/octet-stream"
        in spec["paths"]["/api/v1/clients/{client_id}/attachments"]["post"]["requestBody"]["content"]
    )


async def test_a_portal_invitation_is_emailed_and_opens_the_portal_with_shared_documents(
    api: Api, mailbox: Mailbox
) -> None:
    tenant = await api.sign_up(name=f"Zen Studio {uuid.uuid4().hex[:6]}")
    token = tenant["token"]
    address = f"mia-{uuid.uuid4().hex[:8]}@example.com"
    client = await api.create_client(token, first_name="Mia", email=address)
    await api.call("POST", "/api/v1/custom-fields", token=token, json={"label": "Internal", "type": "text"})
    await api.call(
        "POST",
        "/api/v1/custom-fields",
        token=token,
        json={"label": "Allergies", "type": "text", "forms": ["portal_profile"]},
    )
    await api.call(
        "PATCH",
        f"/api/v1/clients/{client['id']}",
        token=token,
        json={"custom_fields": {"internal": "vip", "allergies": "none"}},
    )
    _, shared, _ = await upload(api, token, client["id"], PDF, "application/pdf", shared_with_client="true")
    _, private, _ = await upload(api, token, client["id"], PDF, "application/pdf")

    status, invitation, _ = await api.call(
        "POST", f"/api/v1/clients/{client['id']}/portal-invitation", token=token, json={}
    )
    assert status == 201, invitation
    await wait_until(lambda: mailbox.to(address), timeout=15)
    [email] = mailbox.to(address)
    assert email["Subject"] == f"{tenant['tenant']['name']} invites you to your client portal"
    link = re.search(r"https?://\S+#token=(\S+)", Mailbox.text(email))
    assert link is not None and link.group(1) == invitation["token"]

    status, tokens, _ = await api.call(
        "POST", "/api/v1/portal/invitations/accept", json={"token": link.group(1), "password": PASSWORD}
    )
    assert status == 201, tokens
    portal = tokens["access_token"]
    _, me, _ = await api.call("GET", "/api/v1/portal/me", token=portal)
    assert me["custom_fields"] == {"allergies": "none"}
    _, form, _ = await api.call("GET", "/api/v1/portal/custom-fields", token=portal)
    assert [f["key"] for f in form["items"]] == ["allergies"]
    # With the business's leave, the client edits the fields of its profile form, and only those.
    await api.call(
        "PUT",
        "/api/v1/portal-settings",
        token=token,
        json={"view_appointments": True, "view_invoices": True, "view_documents": True, "edit_profile": True},
    )
    status, me, _ = await api.call(
        "PATCH", "/api/v1/portal/me", token=portal, json={"custom_fields": {"allergies": "nuts"}}
    )
    assert (status, me["custom_fields"]) == (200, {"allergies": "nuts"})
    status, body, _ = await api.call(
        "PATCH", "/api/v1/portal/me", token=portal, json={"custom_fields": {"internal": "x"}}
    )
    assert (status, [e["field"] for e in body["errors"]]) == (422, ["custom_fields.internal"])
    _, documents, _ = await api.call("GET", "/api/v1/portal/attachments", token=portal)
    assert [a["id"] for a in documents["items"]] == [shared["id"]]
    status, body, _ = await download(api, portal, f"/api/v1/portal/attachments/{shared['id']}/content")
    assert (status, body) == (200, PDF)
    status, _, _ = await download(api, portal, f"/api/v1/portal/attachments/{private['id']}/content")
    assert status == 404

    access = f"/api/v1/clients/{client['id']}/portal-access"
    status, _, _ = await api.call(
        "PUT", access, token=token, json={"enabled": True, "permissions": {"view_documents": False}}
    )
    assert status == 200
    status, problem, _ = await api.call("GET", "/api/v1/portal/attachments", token=portal)
    assert (status, problem["code"]) == (403, "DOCUMENTS_HIDDEN")
    await api.call("PUT", access, token=token, json={"enabled": False})
    await api.call("PUT", access, token=token, json={"enabled": True})
    await on_timeline(
        api,
        token,
        client["id"],
        "client.portal_invited",
        "client.portal_access_revoked",
        "client.portal_access_granted",
    )
    assert len(mailbox.to(address)) == 1
