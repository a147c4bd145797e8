"""One store of each kind, for the tests that check a contract on every store.

``ALL_STORES`` are pytest params (memory, SQLite, PostgreSQL, the last marked
``postgres``); ``SHARED_STORES`` the ones several processes can share.
:func:`store_url_for` makes the URL of one: SQLite in the test's folder, PostgreSQL in
a fresh schema dropped afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.postgres import fresh_schema

__all__ = ["ALL_STORES", "SHARED_STORES", "store_url_for"]

ALL_STORES = [
    pytest.param("memory", id="memory"),
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]
SHARED_STORES = ALL_STORES[1:]


@contextmanager
def store_url_for(kind: str, folder: Path) -> Iterator[str]:
    """The URL of a new store of ``kind`` (``memory``, ``sqlite`` or ``postgres``)."""
    if kind == "memory":
        yield "memory://"
    elif kind == "sqlite":
        yield f"sqlite:///{folder / 'state' / 'broker.db'}"
    else:
        with fresh_schema() as url:
            yield url
