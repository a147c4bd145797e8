"""The request journal of the ``memory://`` store: entries in this process's memory.

The memory store serves one process (the configuration refuses more workers), so
its journal is a list there: ids count from 1, retention
(:mod:`broker.journal.retention`) is applied on every append, counting each entry's
encoded size.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from typing import Any

import orjson

from broker.journal.retention import bytes_to_free
from broker.storage.base import JournalQuery

__all__ = ["MemoryJournal"]


def _size(entry: dict[str, Any]) -> int:
    try:
        return len(orjson.dumps(entry))
    except (orjson.JSONEncodeError, TypeError):  # an integer beyond 64 bits, say
        return len(json.dumps(entry, separators=(",", ":"), ensure_ascii=False).encode())


class MemoryJournal:
    """:class:`~broker.storage.protocols.JournalStore` in memory."""

    def __init__(self, mutex: threading.RLock) -> None:
        self._mutex = mutex
        self._seq = 0
        self._entries: deque[dict[str, Any]] = deque()
        self._sizes: deque[int] = deque()
        self._bytes = 0

    def journal_append(
        self, entry: dict[str, Any], limit: int, max_bytes: int | None = None
    ) -> int:
        size = _size(entry)
        with self._mutex:
            self._seq += 1
            self._entries.append({**entry, "id": self._seq})
            self._sizes.append(size)
            self._bytes += size
            excess = bytes_to_free(self._bytes, max_bytes) if max_bytes else 0
            while len(self._entries) > limit or excess > 0:
                self._entries.popleft()
                dropped = self._sizes.popleft()
                self._bytes -= dropped
                excess -= dropped
            return self._seq

    def journal_query(self, query: JournalQuery) -> list[dict[str, Any]]:
        with self._mutex:
            found = [entry for entry in self._entries if query.matches(entry)]
        if query.forward:
            return found[: query.limit]
        return found[-query.limit :] if query.limit > 0 else []

    def journal_clear(self) -> None:
        with self._mutex:
            self._entries.clear()
            self._sizes.clear()
            self._bytes = 0
