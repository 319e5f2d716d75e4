"""What the gateway itself decides about calendar feeds: which tenant a feed token names."""

from __future__ import annotations

import uuid

import pytest

from gateway.routes.calendar_feeds import feed_tenant
from platform_core.errors import NotFound

SECRET = "A" * 42 + "w"


def test_a_feed_token_names_its_tenant() -> None:
    tenant, feed = uuid.uuid4(), uuid.uuid4()
    assert feed_tenant(f"{tenant.hex}.{feed.hex}.{SECRET}") == tenant


@pytest.mark.parametrize(
    "token",
    [
        "",
        "../../etc/passwd",
        f"{uuid.uuid4()}.{uuid.uuid4().hex}.{SECRET}",  # a hyphenated id is not the token's form
        f"{uuid.uuid4().hex}.{uuid.uuid4().hex}",
        f"{uuid.uuid4().hex}.{uuid.uuid4().hex}.{SECRET}x",
        f"{uuid.uuid4().hex}.{uuid.uuid4().hex}.{SECRET[:-1]}=",
    ],
)
def test_anything_else_names_no_feed(token: str) -> None:
    with pytest.raises(NotFound):
        feed_tenant(token)
