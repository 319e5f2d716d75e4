"""A client cancels its own subscription only when the business allows it; another client's looks missing
whatever the setting (so the setting tells nothing about others' subscriptions)."""

from __future__ import annotations

import uuid

import pytest

from membership_billing_svc.domain.membership_settings import MembershipSettings, check_client_may_cancel
from platform_core.errors import NotFound, PermissionDenied

TENANT = uuid.uuid4()
GRETA = uuid.uuid4()
HANS = uuid.uuid4()


def test_the_default_does_not_let_clients_cancel() -> None:
    with pytest.raises(PermissionDenied) as refused:
        check_client_may_cancel(MembershipSettings(TENANT), GRETA, GRETA)
    assert refused.value.reason == "CLIENT_CANCELLATION_OFF"


def test_a_client_cancels_its_own_when_allowed() -> None:
    check_client_may_cancel(MembershipSettings(TENANT, clients_may_cancel=True), GRETA, GRETA)


@pytest.mark.parametrize("allowed", [True, False])
def test_another_clients_subscription_looks_missing(allowed: bool) -> None:
    with pytest.raises(NotFound):
        check_client_may_cancel(MembershipSettings(TENANT, clients_may_cancel=allowed), HANS, GRETA)
