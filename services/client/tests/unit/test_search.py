import random

import pytest

from client_svc.domain.search import ClientSearch, above_prefix, like_prefix, read_search
from platform_core.errors import InvalidArgument


@pytest.mark.parametrize("typed", ["(212) 555-0142", "+1 212 555 0142", "2125550142", " 212.555.0142 "])
def test_a_phone_number_typed_any_way_reads_as_the_same_e164(typed: str) -> None:
    assert read_search(typed, "US") == ClientSearch(phone="+12125550142")


def test_emails_and_names_are_prefixes_in_lower_case() -> None:
    assert read_search("Ada@Ex", "US") == ClientSearch(email_prefix="ada@ex")
    assert read_search("  Ada   LOVE ", "US") == ClientSearch(name_prefixes=("ada", "love"))
    assert read_search("12", "US") == ClientSearch(name_prefixes=("12",))  # too short for a phone number
    assert read_search("   ", "US") is None


def test_like_wildcards_typed_by_a_person_are_taken_literally() -> None:
    assert like_prefix("50%_off\\") == "50\\%\\_off\\\\%"


def test_a_huge_query_is_refused() -> None:
    with pytest.raises(InvalidArgument):
        read_search("x" * 101, "US")


def test_the_bound_above_a_prefix_is_the_next_string_in_code_point_order() -> None:
    assert above_prefix("smi") == "smj"
    assert above_prefix("zo\u00eb") == "zo\u00ec"
    assert above_prefix("a\ud7ff") == "a\ue000"  # the surrogates between are no characters
    assert above_prefix("a\U0010ffff") == "b"
    assert above_prefix("\U0010ffff\U0010ffff") is None


def test_exactly_the_strings_starting_with_a_prefix_lie_between_it_and_its_bound() -> None:
    rng = random.Random(9)
    alphabet = ["a", "b", "z", "\u00e9", "\ud7ff", "\ue000", "\uffff", "\U00010000", "\U0010ffff"]
    for _ in range(5_000):
        prefix = "".join(rng.choices(alphabet, k=rng.randint(1, 3)))
        text = "".join(rng.choices(alphabet, k=rng.randint(0, 5)))
        bound = above_prefix(prefix)
        between = prefix <= text and (bound is None or text < bound)
        assert between == text.startswith(prefix), (prefix, text)
        # Code point order is UTF-8 byte order, the order text_pattern_ops compares in.
        assert (prefix <= text) == (prefix.encode() <= text.encode())
