import time
import uuid

import jwt
import pytest

from gateway.identity.model import Account, slugify
from gateway.identity.tokens import AccessTokens, InvalidToken, token_hash

SECRET = "s" * 48


def staff() -> Account:
    return Account("staff", uuid.uuid4(), uuid.uuid4(), role="owner", country="US")


def test_an_access_token_round_trips_the_account() -> None:
    tokens = AccessTokens(SECRET, 900)
    account = staff()
    assert tokens.verify(tokens.issue(account)) == account


def test_a_tampered_token_is_refused() -> None:
    tokens = AccessTokens(SECRET, 900)
    header, payload, signature = tokens.issue(staff()).split(".")
    forged_payload = jwt.utils.base64url_encode(b'{"sub":"x","tid":"y","knd":"staff"}').decode()
    with pytest.raises(InvalidToken):
        tokens.verify(f"{header}.{forged_payload}.{signature}")
    with pytest.raises(InvalidToken):
        # A middle character carries six full bits of the signature (the last one has padding bits).
        flipped = "A" if signature[10] != "A" else "B"
        tokens.verify(f"{header}.{payload}.{signature[:10]}{flipped}{signature[11:]}")


def test_an_expired_token_is_refused() -> None:
    tokens = AccessTokens(SECRET, 60)
    old = tokens.issue(staff(), now=time.time() - 3600)
    with pytest.raises(InvalidToken):
        tokens.verify(old)


def test_a_token_signed_with_another_key_or_no_algorithm_is_refused() -> None:
    account = staff()
    other = AccessTokens("o" * 48, 900).issue(account)
    with pytest.raises(InvalidToken):
        AccessTokens(SECRET, 900).verify(other)
    unsigned = jwt.encode(
        {"sub": str(account.id), "tid": str(account.tenant_id), "knd": "staff"}, None, algorithm="none"
    )
    with pytest.raises(InvalidToken):
        AccessTokens(SECRET, 900).verify(unsigned)


def test_refresh_tokens_are_stored_as_hashes() -> None:
    assert token_hash("abc") != token_hash("abd")
    assert len(token_hash("abc")) == 32


@pytest.mark.parametrize(
    ("name", "slug"),
    [("Café Olé & Co", "cafe-ole-co"), ("  Studio 54 ", "studio-54"), ("!!!", "business"), ("a" * 80, "a" * 50)],
)
def test_business_names_become_url_safe_handles(name: str, slug: str) -> None:
    assert slugify(name) == slug


def test_a_cached_token_still_expires() -> None:
    tokens = AccessTokens(SECRET, 60)
    account = staff()
    expired = tokens.issue(account, now=time.time() - 120)
    # As if it had been verified (and cached) while still valid.
    tokens._verified[expired] = (account, int(time.time()) - 60)
    with pytest.raises(InvalidToken):
        tokens.verify(expired)
    assert expired not in tokens._verified
