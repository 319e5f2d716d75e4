"""What rarely changes in a business's catalogue (settings, services, staff hours and exceptions, resources),
kept in this process under the business's catalogue version.

A trigger bumps the version (``catalogue_versions``) in the transaction of every catalogue change, whichever
replica makes it, and every use of the cache reads the version first: an entry built for an older version is
never used again, so a change is seen by the next request on every replica. Entries of old versions leave as
the least recently used.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable


class CatalogueCache:
    def __init__(self, max_entries: int = 4096) -> None:
        self._entries: OrderedDict[Hashable, object] = OrderedDict()
        self._max_entries = max_entries

    def get(self, key: Hashable) -> object | None:
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    def put(self, key: Hashable, value: object) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
