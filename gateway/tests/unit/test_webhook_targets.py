"""Where a webhook may point: HTTPS to a public host, unless a test deployment allows otherwise."""

import pytest

from gateway.webhooks.delivery import DeliveryPolicy
from gateway.webhooks.endpoints import check_target, new_secret
from platform_core.errors import InvalidArgument


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/x",
        "ftp://hooks.example.com/x",
        "https://127.0.0.1/x",
        "https://10.1.2.3/x",
        "https://[::1]/x",
        "https://169.254.169.254/latest",
        "https://localhost:8443/x",
        "https://user:pw@hooks.example.com/x",
    ],
)
def test_insecure_or_private_targets_are_refused(url: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        check_target(url, allow_insecure=False)
    assert [v.field for v in refused.value.violations] == ["url"]


def test_a_public_https_target_is_taken_and_tests_may_use_local_http() -> None:
    check_target("https://hooks.example.com/atrium?x=1", allow_insecure=False)
    check_target("https://93.184.216.34/hook", allow_insecure=False)
    check_target("http://127.0.0.1:8123/hooks", allow_insecure=True)


def test_retries_wait_longer_each_time_and_the_attempts_are_counted() -> None:
    policy = DeliveryPolicy((5, 60, 300), timeout_seconds=10, allow_insecure_targets=False)
    assert policy.max_attempts == 4
    assert [policy.delay_after(n) for n in (1, 2, 3)] == [5, 60, 300]


def test_a_secret_is_a_standard_webhooks_secret() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_") and secret != new_secret()
