"""The OpenAPI document is a contract the running platform keeps: schemathesis generates requests for every
operation of the live /api/openapi.json, valid ones and invalid ones, and sends them through the gateway with
an owner's token and with a portal client's token. Every answer must be no server error, a status the
document lists for the operation, in the media type it declares, with a body its schema accepts.

Bounded to stay a small part of `make test`: a few examples per operation and generation mode, no shrinking,
a fixed seed (derandomize) so a run is repeatable. Each run signs up a business of its own, so what the
generated requests create stays there. No operation is excluded: the tokens under test cannot be revoked by
any generated request (logout and refresh take a refresh token in the body, which generation cannot guess).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import hypothesis
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .conftest import Api
from .test_portal_requests import portal_login

EXAMPLES_PER_MODE = 4
# An operation the token may not call answers 401/403 before reading anything: one example per mode shows it.
EXAMPLES_OUT_OF_SCOPE = 1
CURL_SHOWN = 400  # generated values can be kilobytes long
REQUEST_TIMEOUT_SECONDS = 30  # a request that hangs fails the run instead of stalling `make test`
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@dataclass(frozen=True)
class Finding:
    operation: str
    title: str
    status: int
    curl: str

    def __str__(self) -> str:
        return f"{self.operation}: {self.title} (answered {self.status})\n    {self.curl[:CURL_SHOWN]}"


def _exercise(case_strategy: Any, examples: int, on_case: Callable[[Any], None]) -> None:
    @hypothesis.settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,  # answers are checked for what they say, never for how fast they came
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @hypothesis.given(case=case_strategy)
    def run(case: Any) -> None:
        on_case(case)

    run()


@dataclass
class Outcome:
    sent: int
    succeeded: set[str]  # operations that answered 2xx at least once: the token was sent and accepted
    findings: list[Finding]


def check_contract(base_url: str, token: str, scheme: str) -> Outcome:
    """Every operation of the live document, positive and negative generation.
    `scheme` is the token's security scheme: operations open to it (or public) get the full number of examples."""
    schema = schemathesis.openapi.from_url(f"{base_url}/api/openapi.json")
    headers = {"Authorization": f"Bearer {token}"}
    findings: dict[tuple[str, str, int], Finding] = {}
    sent = 0
    succeeded: set[str] = set()
    with requests.Session() as session:

        def on_case(case: Any) -> None:
            nonlocal sent
            sent += 1
            response = case.call(base_url=base_url, session=session, headers=headers, timeout=REQUEST_TIMEOUT_SECONDS)
            if 200 <= response.status_code < 300:
                succeeded.add(case.operation.label)
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except FailureGroup as group:
                curl = case.as_curl_command(headers=headers)
                for failure in group.exceptions:
                    key = (case.operation.label, failure.title, response.status_code)
                    findings.setdefault(key, Finding(*key, curl))
            except Failure as failure:
                key = (case.operation.label, failure.title, response.status_code)
                findings.setdefault(key, Finding(*key, case.as_curl_command(headers=headers)))

        operations = [result.ok() for result in schema.get_all_operations()]
        for operation in operations:
            security = operation.definition.raw.get("security", [])
            open_to_token = not security or any(scheme in requirement for requirement in security)
            examples = EXAMPLES_PER_MODE if open_to_token else EXAMPLES_OUT_OF_SCOPE
            _exercise(operation.as_strategy(generation_mode=schemathesis.GenerationMode.POSITIVE), examples, on_case)
            try:
                strategy = operation.as_strategy(generation_mode=schemathesis.GenerationMode.NEGATIVE)
                _exercise(strategy, examples, on_case)
            except hypothesis.errors.Unsatisfiable:
                pass  # nothing this operation takes can be made invalid (e.g. no parameters and no body)
    return Outcome(sent, succeeded, sorted(findings.values(), key=lambda f: (f.operation, f.title, f.status)))


def _assert_kept(outcome: Outcome, *signed_in_operations: str) -> None:
    assert set(signed_in_operations) <= outcome.succeeded, outcome.succeeded
    assert not outcome.findings, (
        f"{len(outcome.findings)} ways the API broke its document in {outcome.sent} requests:\n"
        + "\n".join(map(str, outcome.findings))
    )


async def test_the_document_holds_for_an_owner(api: Api) -> None:
    owner = await api.sign_up("Contract Studio")
    await api.create_client(owner["token"], first_name="Ada", email="ada@example.com")
    outcome = await asyncio.to_thread(check_contract, api.stack.base_url, owner["token"], "staffBearer")
    _assert_kept(outcome, "GET /api/v1/clients", "GET /api/v1/scheduling/settings")


async def test_the_document_holds_for_a_portal_client(api: Api) -> None:
    owner = await api.sign_up("Contract Portal Studio")
    client = await api.create_client(owner["token"], first_name="Mia", email="mia@example.com")
    portal = await portal_login(api, owner["token"], client["id"])
    outcome = await asyncio.to_thread(check_contract, api.stack.base_url, portal, "portalBearer")
    _assert_kept(outcome, "GET /api/v1/portal/me", "GET /api/v1/portal/permissions")
