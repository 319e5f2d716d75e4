from scheduling_svc.adapters.catalogue_cache import CatalogueCache


def test_the_least_recently_used_entry_leaves_first() -> None:
    cache = CatalogueCache(max_entries=2)
    cache.put("old version", 1)
    cache.put("settings", 2)
    assert cache.get("old version") == 1  # used again: now the newest
    cache.put("services", 3)
    assert (cache.get("settings"), cache.get("old version"), cache.get("services")) == (None, 1, 3)
