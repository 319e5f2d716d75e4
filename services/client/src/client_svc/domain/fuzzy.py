"""Typo-tolerant name search on core PostgreSQL: words and a key dictionary the service keeps.

Every word of a client's names (first, last, company; lower case, accents folded) is stored for the
client, and each distinct word of a tenant once in its key dictionary, under:

* the word itself and, for words of 4 letters or more, each variant missing one letter
  ("smith" -> "mith", "sith", "smth", "smih", "smit"): the deletion neighbourhood;
* "^" + each of its beginnings of 3 letters or more ("^smi", "^smit", "^smith").

A typed word looks up its own deletion neighbourhood and its "^" beginning in the dictionary. Two words
share a plain key exactly when one can be made from the other by leaving out, adding, changing or
swapping one letter (and in a few cases two), so "Jonh Smiht" and "Katherine" find the words "john",
"smith" and "catherine", then their clients, by index lookups alone; every candidate is checked here
(``matches``) at Damerau-Levenshtein distance 1. Names repeat, so the dictionary stays small: keys
are per distinct word, not per client.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable

MIN_WORD = 3  # shorter words are not indexed (their keys would match too much); prefix search covers them
MIN_TYPO_WORD = 4  # a word must be this long before a typo in it is forgiven
PREFIX_MARK = "^"
NAME_CACHE = 16_384  # names split into words, kept across searches (names repeat; a few MB at most)
_WORD = re.compile(r"[^\W_]+")


def words(text: str) -> list[str]:
    """Lower-case words with accents folded: "  José-María O'Neil" -> ["jose", "maria", "o", "neil"]."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _WORD.findall(folded)


def name_words(*names: str) -> frozenset[str]:
    """The words of a client's names that are indexed."""
    return frozenset(w for name in names for w in words(name) if len(w) >= MIN_WORD)


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def word_keys(word: str) -> frozenset[str]:
    """The dictionary keys of one word (see the module docstring)."""
    keys = {word} | {PREFIX_MARK + word[:end] for end in range(MIN_WORD, len(word) + 1)}
    if len(word) >= MIN_TYPO_WORD:
        keys |= _deletions(word)
    return frozenset(keys)


def keys_of(indexed: Iterable[str]) -> frozenset[str]:
    return frozenset(key for word in indexed for key in word_keys(word))


def lookup_keys(typed_word: str) -> frozenset[str]:
    """Keys that find the names a typed (normalized) word may mean; empty for a word too short to look up."""
    if len(typed_word) < MIN_WORD:
        return frozenset()
    keys = {PREFIX_MARK + typed_word}
    if len(typed_word) >= MIN_TYPO_WORD:
        keys |= {typed_word} | _deletions(typed_word)
    return frozenset(keys)


def distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[len(b)]


def word_matches(typed_word: str, name: Iterable[str]) -> bool:
    """A typed word matches a name word it begins, or one at most one typo away (words of 4+ letters)."""
    return any(_word_matches(typed_word, word) for word in name)


def _word_matches(typed_word: str, word: str) -> bool:
    if word.startswith(typed_word):
        return True
    return (
        len(typed_word) >= MIN_TYPO_WORD and abs(len(word) - len(typed_word)) <= 1 and distance(typed_word, word) <= 1
    )


@functools.lru_cache(maxsize=NAME_CACHE)
def _name_words(name: str) -> tuple[str, ...]:
    return tuple(words(name))


class TypedWords:
    """The typed words of one search, checked against many candidates' names: names repeat (a common first
    or last name), so each name is split into words, and each distinct word compared, once."""

    def __init__(self, typed: Iterable[str]) -> None:
        self._typed = tuple(typed)
        self._matched_by: dict[str, frozenset[int]] = {}

    def matches(self, *names: str) -> bool:
        """Every typed word matches a word of the names."""
        matched: set[int] = set()
        for name in names:
            for word in _name_words(name):
                matched |= self._matching(word)
        return len(matched) == len(self._typed)

    def _matching(self, word: str) -> frozenset[int]:
        """Which typed words (by position) this name word satisfies."""
        found = self._matched_by.get(word)
        if found is None:
            found = frozenset(i for i, typed in enumerate(self._typed) if _word_matches(typed, word))
            self._matched_by[word] = found
        return found


def matches(typed: Iterable[str], *names: str) -> bool:
    """Every typed word matches a word of the names."""
    return TypedWords(typed).matches(*names)
