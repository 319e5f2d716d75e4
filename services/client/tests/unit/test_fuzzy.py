"""Typo-tolerant name keys: what they find and what they do not."""

import random

import pytest

from client_svc.domain.fuzzy import (
    TypedWords,
    distance,
    keys_of,
    lookup_keys,
    matches,
    name_words,
    word_matches,
    words,
)


def found(typed: str, *names: str) -> bool:
    """As the search does: a key lookup for candidates, then the exact check."""
    stored = keys_of(name_words(*names))
    typed_words = words(typed)
    looked_up = [lookup_keys(w) for w in typed_words if lookup_keys(w)]
    return all(keys & stored for keys in looked_up) and matches(typed_words, *names)


def test_words_are_lower_case_with_accents_folded() -> None:
    assert words("  José-María O'Neil ") == ["jose", "maria", "o", "neil"]
    assert name_words("Al", "Smith", "Ltd") == {"smith", "ltd"}  # two letters: not indexed


def test_keys_are_the_word_its_one_letter_deletions_and_its_beginnings() -> None:
    assert keys_of(["smith"]) == {
        "smith",
        "mith",
        "sith",
        "smth",
        "smih",
        "smit",
        "^smi",
        "^smit",
        "^smith",
    }
    assert keys_of(["ann"]) == {"ann", "^ann"}  # too short for typos
    assert lookup_keys("jo") == frozenset()
    assert lookup_keys("smi") == {"^smi"}


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("Jonh Smiht", "John Smith"),  # swapped letters
        ("Katherine", "Catherine"),  # a changed letter
        ("Cathrine", "Catherine"),  # a missing letter
        ("Catherinne", "Catherine"),  # an extra letter
        ("jon", "Jonathan"),  # a beginning
        ("jose", "José"),
        ("smi", "John Smith"),
        ("acme repiars", "Acme Repairs"),
        ("jonh", "Jon"),  # a three-letter name, one letter added
    ],
)
def test_one_typo_per_word_is_forgiven(typed: str, name: str) -> None:
    assert found(typed, name)


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("mark", "Omar"),  # two edits
        ("jonh xyzzy", "John Smith"),  # every word must match
        ("smiht", "Smithers"),  # a typo and a cut
        ("abc", "Abd"),  # short words need their start exactly
        ("atherine", "Cathy"),
    ],
)
def test_more_than_one_typo_is_not(typed: str, name: str) -> None:
    assert not found(typed, name)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [("smith", "smith", 0), ("smiht", "smith", 1), ("jon", "john", 1), ("mark", "omar", 2), ("", "abc", 3)],
)
def test_distance(a: str, b: str, expected: int) -> None:
    assert distance(a, b) == expected == distance(b, a)


def test_every_one_typo_variant_shares_a_key_with_the_word() -> None:
    """The property the index relies on: any word one edit away is found by a key lookup."""
    word = "catherine"
    alphabet = "abcdefghijklmnopqrstuvwxyz"
    variants = {word[:i] + word[i + 1 :] for i in range(len(word))}
    variants |= {word[:i] + c + word[i:] for i in range(len(word) + 1) for c in alphabet}
    variants |= {word[:i] + c + word[i + 1 :] for i in range(len(word)) for c in alphabet}
    variants |= {word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(len(word) - 1)}
    stored = keys_of([word])
    for variant in variants:
        assert lookup_keys(variant) & stored, variant
        assert matches([variant], "Catherine"), variant


def test_one_searchs_check_over_many_names_answers_as_each_word_checked_alone() -> None:
    rng = random.Random(31)
    vocabulary = ["smith", "smiht", "smyth", "smithers", "jon", "john", "jonh", "joan", "ann", "anna", "mary", "mark"]
    for _ in range(300):
        typed = [rng.choice(vocabulary)[: rng.randint(1, 8)] for _ in range(rng.randint(1, 3))]
        check = TypedWords(typed)
        for _ in range(20):
            names = [" ".join(rng.choices(vocabulary, k=rng.randint(0, 2))).title() for _ in range(3)]
            name = [w for n in names for w in words(n)]
            assert check.matches(*names) == all(word_matches(t, name) for t in typed), (typed, names)
