"""State stores: where instances, bindings, operations, the journal and fault rules live."""

from __future__ import annotations

from broker.storage.base import Store, StoreUnavailable

__all__ = ["Store", "StoreUnavailable", "open_store"]


def open_store(url: str, *, sqlite_synchronous: str = "FULL") -> Store:
    """Open the store named by ``url`` (``memory://``, ``sqlite:///…``, ``postgresql://…``)."""
    if url.startswith("memory:"):
        from broker.storage.memory import MemoryStore

        return MemoryStore(url)
    if url.startswith("sqlite:///"):
        from broker.storage.sqlite import SQLiteStore

        return SQLiteStore(url, synchronous=sqlite_synchronous)
    if url.startswith(("postgresql://", "postgres://")):
        from broker.storage.postgres import PostgresStore

        store: Store = PostgresStore(url)
        return store
    raise StoreUnavailable(f"unsupported store URL {url!r}")
