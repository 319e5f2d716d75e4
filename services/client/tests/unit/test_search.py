import pytest

from client_svc.domain.search import ClientSearch, like_prefix, read_search
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
