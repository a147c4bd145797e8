"""The findings store of each state store: :func:`findings_store_for`."""

from __future__ import annotations

import weakref

from broker.platform_checks.findings_store import FindingsStore
from broker.storage import Store

__all__ = ["findings_store_for"]

# One findings store per state store object: apps built on the same store (tests,
# the pytest plugin) share findings as they share state.
_OPENED: weakref.WeakKeyDictionary[object, FindingsStore] = weakref.WeakKeyDictionary()


def findings_store_for(store: Store) -> FindingsStore:
    """The findings store that lives where ``store`` keeps the broker's state."""
    found = _OPENED.get(store)
    if found is not None:
        return found
    url = store.url
    opened: FindingsStore
    if url.startswith("sqlite:///"):
        from broker.platform_checks.stores.sqlite import SQLiteFindings

        opened = SQLiteFindings(url)
    elif url.startswith(("postgresql://", "postgres://")):
        from broker.platform_checks.stores.postgres import PostgresFindings
        from broker.storage.postgres import PostgresStore

        assert isinstance(store, PostgresStore)
        opened = PostgresFindings(store)
    else:
        from broker.platform_checks.stores.memory import MemoryFindings

        opened = MemoryFindings()
    _OPENED[store] = opened
    return opened
