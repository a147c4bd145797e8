"""Deleted ids (:mod:`broker.storage.deleted_ids`) of the memory store, in ordered dicts."""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict

from broker.storage.deleted_ids import DELETED_KINDS, Remembered

__all__ = ["MemoryDeletedIds"]


class MemoryDeletedIds:
    """:class:`~broker.storage.protocols.DeletedIdStore` in memory: per kind, each id
    with its number, oldest first; the bound keeps exactly ``keep`` ids."""

    def __init__(self, mutex: threading.RLock) -> None:
        self._mutex = mutex
        self._numbers = itertools.count(1)
        self._ids: dict[str, OrderedDict[str, int]] = {
            kind: OrderedDict() for kind in DELETED_KINDS
        }

    def remember(self, kind: str, resource_id: str) -> Remembered:
        """:meth:`remember_deleted` for a caller that holds the store's mutex."""
        ids = self._ids[kind]
        prior = ids.pop(resource_id, None)
        seq = ids[resource_id] = next(self._numbers)
        return Remembered(kind, resource_id, seq, prior)

    def remember_deleted(self, kind: str, resource_id: str) -> Remembered:
        with self._mutex:
            return self.remember(kind, resource_id)

    def settle_deleted(self, remembered: Remembered, keep: int, stands: bool) -> None:
        with self._mutex:
            ids = self._ids[remembered.kind]
            if stands:
                while len(ids) > keep:
                    ids.popitem(last=False)
                return
            if ids.get(remembered.id) != remembered.seq:
                return
            del ids[remembered.id]
            if remembered.prior is not None:
                # Back in its place: the ids in the order of their numbers.
                ids[remembered.id] = remembered.prior
                ordered = sorted(ids.items(), key=lambda item: item[1])
                ids.clear()
                ids.update(ordered)

    def take_deleted(self, kind: str, resource_id: str, keep: int) -> bool:
        with self._mutex:
            return self._ids[kind].pop(resource_id, None) is not None

    def clear_deleted(self) -> None:
        with self._mutex:
            for ids in self._ids.values():
                ids.clear()
