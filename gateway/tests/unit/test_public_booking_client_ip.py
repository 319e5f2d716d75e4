"""Whose address the public booking page's per-IP limits count: X-Forwarded-For only from a trusted proxy."""

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from gateway.public_booking import client_ip

TRUSTED = ["127.0.0.1", "10.0.0.0/8"]


def request_from(peer: str, forwarded: str | None) -> web.Request:
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    return make_mocked_request("POST", "/api/v1/public/booking/salon/requests", headers=headers).clone(remote=peer)


@pytest.mark.parametrize(
    ("peer", "forwarded", "counted"),
    [
        # The web unit on this host, and a pod of the cluster network, name the visitor: the last entry, which
        # they wrote (the ones before it the visitor could have sent).
        ("127.0.0.1", "203.0.113.7", "203.0.113.7"),
        ("10.4.2.9", "198.51.100.1, 203.0.113.7", "203.0.113.7"),
        # The web unit behind an ingress: both are proxies, the visitor is the address the ingress saw.
        ("10.4.2.9", "198.51.100.1, 203.0.113.7, 10.9.9.9", "203.0.113.7"),
        # Anyone else is the visitor, whatever it says.
        ("203.0.113.50", "198.51.100.1", "203.0.113.50"),
        ("127.0.0.1", None, "127.0.0.1"),
        ("127.0.0.1", " ", "127.0.0.1"),
    ],
)
def test_the_visitor_address(peer: str, forwarded: str | None, counted: str) -> None:
    assert client_ip(request_from(peer, forwarded), TRUSTED) == counted
