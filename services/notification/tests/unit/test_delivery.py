"""Messages' rules without a database: retries, transitions, languages, who hears of a new request, and the
templates in both languages."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from importlib import resources

import pytest
from jinja2 import Environment, UndefinedError, meta

from notification_svc.adapters.message_templates import MessageTemplates, local_time_formatter
from notification_svc.domain.audience import StaffMember, choose_language
from notification_svc.domain.delivery import (
    ClaimedMessage,
    PlannedMessage,
    Recipient,
    RetryPolicy,
    Status,
    after_failure,
    may_move,
    message_summary,
)
from notification_svc.domain.membership_notices import crossed_low_balance
from notification_svc.domain.payment_notices import checked_payment_rule
from notification_svc.domain.request_notices import (
    RequestStep,
    accept_url,
    client_notices,
    staff_notices,
    staff_to_tell,
)
from notification_svc.domain.template_catalogue import KIND_VARIABLES, SAMPLE, allowed_variables
from platform_core.errors import InvalidArgument

NOW = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
TEMPLATES = resources.files("notification_svc") / "templates" / "messages"


def claimed(attempt: int, max_attempts: int = 3) -> ClaimedMessage:
    return ClaimedMessage(
        uuid.uuid4(), uuid.uuid4(), "request.declined", "transactional", "email",
        Recipient("client", uuid.uuid4()), None, {}, attempt, max_attempts,
    )  # fmt: skip


def test_retries_wait_longer_each_time_up_to_the_cap_then_the_message_fails() -> None:
    policy = RetryPolicy(base=timedelta(seconds=30), cap=timedelta(minutes=5))
    assert [policy.delay(n) for n in (1, 2, 3, 5)] == [
        timedelta(seconds=30), timedelta(seconds=60), timedelta(seconds=120), timedelta(minutes=5)
    ]  # fmt: skip
    first = after_failure(claimed(1), "451 busy", now=NOW, policy=policy)
    assert (first.status, first.retry_at) == (Status.PLANNED, NOW + timedelta(seconds=30))
    last = after_failure(claimed(3), "451 busy", now=NOW, policy=policy)
    assert (last.status, last.retry_at, last.error) == (Status.FAILED, None, "451 busy")


def test_only_the_allowed_transitions() -> None:
    assert may_move(Status.PLANNED, Status.SENDING) and may_move(Status.SENT, Status.DELIVERED)
    assert not may_move(Status.DELIVERED, Status.SENDING)
    assert not may_move(Status.CANCELLED, Status.PLANNED)
    assert not may_move(Status.PLANNED, Status.SENT)


def test_the_language_is_the_clients_then_the_business_then_english() -> None:
    available = {"en", "de"}
    assert choose_language(available, "de-AT", "en") == "de"
    assert choose_language(available, "", "de") == "de"
    assert choose_language(available, "fr", "it") == "en"
    assert choose_language(available, "DE_ch") == "de"


def step(
    event: str,
    preferred: uuid.UUID | None = None,
    *,
    by_client: bool = False,
    technician: uuid.UUID | None = None,
    **variables: object,
) -> RequestStep:
    return RequestStep(
        uuid.uuid4(), event, uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), NOW, {"reference": "REQ-1", **variables},
        preferred, by_client, technician,
    )  # fmt: skip


def member(permissions: set[str], *, active: bool = True) -> StaffMember:
    return StaffMember(uuid.uuid4(), "s@example.com", "S", frozenset(permissions), active)


def test_a_new_request_goes_to_active_approvers_and_the_preferred_technician_once_each() -> None:
    approver, technician, other = member({"requests.approve"}), member({"schedule.read"}), member(set())
    retired = member({"requests.approve"}, active=False)
    submitted = step("RequestSubmitted", technician.staff_id)
    told = staff_to_tell(submitted, [approver, technician, other, retired])
    assert {m.staff_id for m in told} == {approver.staff_id, technician.staff_id}
    planned = staff_notices(submitted, [approver, technician, other, retired], max_attempts=3)
    assert sorted((m.recipient.id == approver.staff_id, m.channel) for m in planned) == [
        (False, "email"), (False, "in_app"), (True, "email"), (True, "in_app")
    ]  # fmt: skip
    assert staff_notices(step("RequestApproved"), [approver], max_attempts=3) == []


def test_each_client_step_is_one_email_and_one_inbox_notice_keyed_by_its_rule() -> None:
    approved = step("RequestApproved")
    planned = client_notices(approved, max_attempts=5)
    assert [(m.kind, m.channel, m.rule) for m in planned] == [
        ("request.approved", "email", "request.approved:client"),
        ("request.approved", "in_app", "request.approved:client"),
    ]
    assert client_notices(step("RequestUpdated"), max_attempts=5) == []
    # The client's own submission: a receipt by email, no news in its inbox.
    assert [m.channel for m in client_notices(step("RequestSubmitted", by_client=True), max_attempts=5)] == ["email"]


def kinds_and_channels(planned: list[PlannedMessage]) -> list[tuple[str, str]]:
    return [(m.kind, m.channel) for m in planned]


BOTH = ["email", "in_app"]


@pytest.mark.parametrize(
    ("event", "by_client", "kind", "channels"),
    [
        ("RequestAlternativesProposed", False, "request.alternatives_proposed", BOTH),
        ("RequestAlternativeAccepted", True, "request.alternative_accepted", ["email"]),
        ("RequestExpired", False, "request.expired", BOTH),
        ("RequestCancelled", True, "request.cancelled", ["email"]),
        ("RequestCancelled", False, "request.cancelled", BOTH),
        # An approved one: its appointment's cancellation tells the client (scheduling's event).
        ("RequestCancelled:approved", False, "", []),
        ("WaitlistOfferMade", False, "waitlist.offer_made", BOTH),
        ("WaitlistOfferExpired", False, "waitlist.offer_expired", BOTH),
        ("WaitlistOfferAccepted", True, "waitlist.offer_accepted", ["email"]),
        ("RequestUpdated", True, "", []),
    ],
)
def test_the_client_hears_of_each_step_by_email_and_in_its_inbox_of_what_it_did_not_do_itself(
    event: str, by_client: bool, kind: str, channels: list[str]
) -> None:
    name, _, approved = event.partition(":")
    about = step(name, by_client=by_client, was_approved=bool(approved))
    planned = client_notices(about, max_attempts=5)
    assert kinds_and_channels(planned) == [(kind, channel) for channel in channels]
    assert all(m.subject_id == about.subject_id and m.rule == f"{m.kind}:client" for m in planned)


def test_staff_hear_of_an_edit_an_accepted_alternative_and_an_approved_request_the_client_cancelled() -> None:
    approver, preferred, technician = member({"requests.approve"}), member(set()), member(set())
    bystander = member({"schedule.read"})
    team = [approver, preferred, technician, bystander]

    def told(about: RequestStep) -> set[tuple[str, uuid.UUID]]:
        return {(m.kind, m.recipient.id) for m in staff_notices(about, team, max_attempts=3) if m.channel == "email"}

    updated = step("RequestUpdated", preferred.staff_id, by_client=True)
    assert told(updated) == {("request.updated", approver.staff_id), ("request.updated", preferred.staff_id)}
    accepted = step("RequestAlternativeAccepted", by_client=True, technician=technician.staff_id)
    assert told(accepted) == {
        ("request.alternative_accepted_by_client", approver.staff_id),
        ("request.alternative_accepted_by_client", technician.staff_id),
    }
    cancelled = step("RequestCancelled", by_client=True, was_approved=True, cancelled_by="client")
    assert told(cancelled) == {("request.cancelled_by_client", approver.staff_id)}
    # A pending request the client withdrew, or staff's own cancellation: no news for staff.
    assert told(step("RequestCancelled", by_client=True, was_approved=False)) == set()
    assert told(step("RequestCancelled", by_client=False, was_approved=True, cancelled_by="staff")) == set()
    for quiet in ("RequestExpired", "RequestAlternativesProposed", "WaitlistOfferMade", "WaitlistOfferAccepted"):
        assert told(step(quiet)) == set(), quiet


def test_the_accept_link_leads_into_the_portal_for_what_the_client_must_act_on() -> None:
    assert accept_url("request.alternatives_proposed", "https://studio.example/") == (
        "https://studio.example/portal/requests"
    )
    assert accept_url("waitlist.offer_made", "https://studio.example") == "https://studio.example/portal/waitlist"
    assert accept_url("request.expired", "https://studio.example") == ""


def test_day_and_zone_of_a_time_across_the_dst_change_in_both_languages() -> None:
    # 30 March 2026 09:00 in Berlin is 07:00 UTC (summer time began on the 29th); 27 March 09:00 is 08:00 UTC.
    assert local_time_formatter("de", "Europe/Berlin")("2026-03-30T07:00:00+00:00") == (
        "Montag, 30. März 2026, 09:00 (Europe/Berlin)"
    )
    assert local_time_formatter("en", "Europe/Berlin")(datetime(2026, 3, 27, 8, 0, tzinfo=UTC)) == (
        "Friday, March 27, 2026, 09:00 (Europe/Berlin)"
    )
    assert local_time_formatter("en", "Not/AZone")("2026-03-30T07:00:00+00:00").endswith("07:00 (UTC)")


@pytest.mark.parametrize("language", ["en", "de"])
def test_every_default_template_renders_in_each_language(language: str) -> None:
    templates = MessageTemplates()
    assert templates.languages >= {"en", "de"}
    when = "2026-03-30T07:00:00+00:00"
    context = SAMPLE | {
        "name": "Ada <b>", "business_name": "Zen & Co", "invited_by_name": "", "role": "staff",
        "url": "https://hooks.example/x", "consecutive_failures": 5, "last_error": "503", "hold_until": "",
        "note": "", "preferred_staff_name": "", "description": "", "expires_at": when,
        "secret": {"url": "https://studio.example/reset#t", "code": "123456"}, "unsubscribe_url": "",
    }  # fmt: skip
    kinds = {path.name.removesuffix(".jinja") for path in (TEMPLATES / "en").iterdir()}
    assert kinds == {path.name.removesuffix(".jinja") for path in (TEMPLATES / language).iterdir()}
    for kind in kinds:
        rendered = templates.render(language, kind, context, zone="Europe/Berlin")
        assert rendered.subject and rendered.text and rendered.sms and rendered.inbox, kind
        assert "<b>" not in rendered.html and "Ada &lt;b&gt;" in rendered.html, kind


def test_a_missing_variable_is_an_error_not_a_blank() -> None:
    with pytest.raises(UndefinedError):
        MessageTemplates().render("en", "request_declined", {"name": ""}, zone="UTC")


@pytest.mark.parametrize("language", ["en", "de"])
def test_every_rewordable_default_uses_only_the_variables_its_kind_documents(language: str) -> None:
    env = Environment()
    for kind in KIND_VARIABLES:
        source = (TEMPLATES / language / f"{kind.replace('.', '_')}.jinja").read_text()
        assert meta.find_undeclared_variables(env.parse(source)) <= allowed_variables(kind), kind


def test_a_low_credit_balance_is_told_when_a_use_brings_it_to_the_threshold_not_while_it_stays_low() -> None:
    assert crossed_low_balance(balance_after=1, amount_used=1, threshold=1)
    assert crossed_low_balance(balance_after=0, amount_used=3, threshold=1)
    assert not crossed_low_balance(balance_after=0, amount_used=1, threshold=1)  # already low before
    assert not crossed_low_balance(balance_after=2, amount_used=1, threshold=1)


def test_a_message_on_the_timeline_reads_as_its_channel_state_and_subject() -> None:
    assert message_summary("email", "delivered", "Confirmed") == "Email delivered: Confirmed"
    assert message_summary("sms", "planned", "") == "SMS planned"


def test_a_payment_rule_names_each_wrong_field() -> None:
    with pytest.raises(InvalidArgument) as refused:
        checked_payment_rule([-61, 0], ["fax"], "25:00")
    assert [v.field for v in refused.value.violations] == ["days", "channels", "send_at"]
    assert checked_payment_rule([3, -3, 3], ["sms", "email"], "08:15").days == (-3, 3)
