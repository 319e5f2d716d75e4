"""An Idempotency-Key makes any unsafe call safe to retry: the first answer is kept and answered again."""

from __future__ import annotations

import asyncio
import uuid

from .conftest import Api


async def test_a_retried_call_gets_the_first_answer_and_changes_nothing_more(api: Api) -> None:
    owner = (await api.sign_up())["token"]
    key = {"Idempotency-Key": f"group-{uuid.uuid4()}"}
    replies = await asyncio.gather(
        *(api.call("POST", "/api/v1/client-groups", token=owner, json={"name": "VIP"}, headers=key) for _ in range(4))
    )
    assert {status for status, _, _ in replies} == {201}, replies
    assert len({body["id"] for _, body, _ in replies}) == 1
    assert sorted(headers.get("Idempotent-Replayed", "") for _, _, headers in replies) == ["", "true", "true", "true"]
    _, groups, _ = await api.call("GET", "/api/v1/client-groups", token=owner)
    assert [g["name"] for g in groups["items"]] == ["VIP"]

    # A refusal is the first answer too: the retry is refused the same way, though the name is free by then.
    taken = {"Idempotency-Key": f"group-{uuid.uuid4()}"}
    status, refused, _ = await api.call(
        "POST", "/api/v1/client-groups", token=owner, json={"name": "VIP"}, headers=taken
    )
    assert status == 409, refused
    group_id = replies[0][1]["id"]
    assert (await api.call("DELETE", f"/api/v1/client-groups/{group_id}", token=owner))[0] == 204
    status, again, headers = await api.call(
        "POST", "/api/v1/client-groups", token=owner, json={"name": "VIP"}, headers=taken
    )
    assert (status, again, headers["Idempotent-Replayed"]) == (409, refused, "true")


async def test_a_key_belongs_to_one_request_and_one_caller(api: Api) -> None:
    first, second = (await api.sign_up())["token"], (await api.sign_up())["token"]
    key = {"Idempotency-Key": "the-same-key"}
    status, ada, _ = await api.call("POST", "/api/v1/clients", token=first, json={"first_name": "Ada"}, headers=key)
    assert status == 201
    status, problem, _ = await api.call(
        "POST", "/api/v1/clients", token=first, json={"first_name": "Grace"}, headers=key
    )
    assert (status, [e["field"] for e in problem["errors"]]) == (422, ["Idempotency-Key"]), problem
    # Another business's identical key is its own.
    status, other, headers = await api.call(
        "POST", "/api/v1/clients", token=second, json={"first_name": "Ada"}, headers=key
    )
    assert status == 201 and other["id"] != ada["id"] and "Idempotent-Replayed" not in headers
    status, problem, _ = await api.call(
        "POST", "/api/v1/clients", token=first, json={"first_name": "Ada"}, headers={"Idempotency-Key": "k" * 201}
    )
    assert (status, [e["field"] for e in problem["errors"]]) == (422, ["Idempotency-Key"])
