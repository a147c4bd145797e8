"""State stores: where instances, bindings, operations, the journal and fault rules live."""

from __future__ import annotations

from broker.storage.base import StoreUnavailable
from broker.storage.protocols import Store
from broker.storage.urls import redacted_url

__all__ = ["Store", "StoreUnavailable", "open_store", "redacted_url"]


def open_store(url: str, *, sqlite_synchronous: str = "NORMAL") -> Store:
    """Open the store named by ``url`` (``memory://``, ``sqlite:///…``, ``postgresql://…``).

    ``sqlite_synchronous`` is SQLite's ``PRAGMA synchronous`` (see :class:`SQLiteStore`).
    """
    if url.startswith("memory:"):
        from broker.storage.memory import MemoryStore

        return MemoryStore(url)
    if url.startswith("sqlite:///"):
        from broker.storage.sqlite import SQLiteStore

        return SQLiteStore(url, synchronous=sqlite_synchronous)
    if url.startswith(("postgresql://", "postgres://")):
        try:
            from broker.storage.postgres import PostgresStore
        except ModuleNotFoundError as exc:
            if not (exc.name or "").startswith("psycopg"):
                raise
            raise StoreUnavailable(
                "postgresql:// stores need psycopg 3: pip install 'mockbroker[postgres]'"
            ) from exc

        store: Store = PostgresStore(url)
        return store
    raise StoreUnavailable(f"unsupported store URL {redacted_url(url)!r}")
