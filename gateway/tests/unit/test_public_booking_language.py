"""The language of a public booking page visitor's code email: one the page's emails come in, else the
business's."""

import uuid

import pytest

from gateway.public_booking import PublicPage


def page(language: str) -> PublicPage:
    return PublicPage(uuid.uuid4(), "salon", "Salon", "DE", "Europe/Berlin", language, 0)


@pytest.mark.parametrize(
    ("business", "wanted", "sent"),
    [
        ("en", "de", "de"),
        ("en", "de-AT", "de"),
        ("en", "DE-ch", "de"),
        ("de", "en-GB", "en"),
        ("de-DE", "de-CH", "de-DE"),  # the business's own tag when it is of that language
        ("en", "fr", "en"),  # no email comes in French: the business's language
        ("de", None, "de"),
    ],
)
def test_a_visitor_gets_an_email_language_the_page_offers(business: str, wanted: str | None, sent: str) -> None:
    assert page(business).email_language(wanted) == sent
    assert sent in page(business).languages
