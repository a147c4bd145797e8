"""``memory://``: the whole state in one process's memory (tests, the pytest plugin)."""

from __future__ import annotations

import json
import threading
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from broker.storage.base import JournalQuery
from broker.storage.memory_deleted_ids import MemoryDeletedIds
from broker.storage.memory_journal import MemoryJournal
from broker.storage.memory_state import MemoryState
from broker.storage.parts import DELETED, JOURNAL, STATE, lend, methods_of
from broker.storage.state_forwarding import ForwardsState
from broker.storage.striped_locks import StripedLocks

__all__ = ["MemoryStore"]


class MemoryStore(ForwardsState):
    """A first-class fake of the store contract: same semantics, no I/O."""

    _state: MemoryState
    _deleted: MemoryDeletedIds

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._mutex = threading.RLock()
        self._locks = StripedLocks()
        self._generation = 0
        self._deleted = MemoryDeletedIds(self._mutex)
        self._state = MemoryState(self._mutex, self._deleted)
        lend(self, MemoryStore, methods_of(self._state, STATE))
        lend(self, MemoryStore, methods_of(self._deleted, DELETED))
        lend(self, MemoryStore, {"lock": self._locks.hold})
        self._journal = MemoryJournal(self._mutex)
        lend(self, MemoryStore, methods_of(self._journal, JOURNAL))
        self._faults: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._catalogs: list[dict[str, Any]] = []
        self._seeded: set[str] = set()

    # --- lifecycle / coordination -----------------------------------------------------
    def check(self) -> None:
        return None

    def close(self) -> None:
        return None

    def lock(self, key: str) -> AbstractContextManager[None]:
        return self._locks.hold(key)

    def generation(self) -> int:
        return self._generation

    def reset(self, keep_journal: bool = False) -> None:
        with self._mutex:
            self._state.clear()
            self._deleted.clear_deleted()
            self._faults.clear()
            self._catalogs.clear()
            self._seeded.clear()
            if not keep_journal:
                self.journal_clear()
            self._generation += 1

    # --- journal ----------------------------------------------------------------------
    def journal_append(
        self, entry: dict[str, Any], limit: int, max_bytes: int | None = None
    ) -> int:
        return self._journal.journal_append(entry, limit, max_bytes)

    def journal_query(self, query: JournalQuery) -> list[dict[str, Any]]:
        return self._journal.journal_query(query)

    def journal_clear(self) -> None:
        self._journal.journal_clear()

    # --- faults -----------------------------------------------------------------------
    def fault_add(self, rule: dict[str, Any]) -> str:
        with self._mutex:
            rule_id = rule.get("id") or f"fault-{uuid.uuid4().hex[:12]}"
            self._faults[rule_id] = {**rule, "id": rule_id, "calls": 0, "fired": 0}
            self._generation += 1
            return rule_id

    def fault_list(self) -> list[dict[str, Any]]:
        with self._mutex:
            return [dict(rule) for rule in self._faults.values()]

    def fault_delete(self, rule_id: str) -> bool:
        with self._mutex:
            found = self._faults.pop(rule_id, None) is not None
            self._generation += 1
            return found

    def fault_delete_all(self, origin: str | None = None) -> int:
        with self._mutex:
            doomed = [
                rule_id
                for rule_id, rule in self._faults.items()
                if origin is None or rule.get("origin", "admin") == origin
            ]
            for rule_id in doomed:
                del self._faults[rule_id]
            self._generation += 1
            return len(doomed)

    def fault_hit(self, rule_id: str) -> int:
        with self._mutex:
            rule = self._faults.get(rule_id)
            if rule is None:
                return 0
            rule["calls"] += 1
            return int(rule["calls"])

    def fault_fired(self, rule_id: str) -> None:
        with self._mutex:
            rule = self._faults.get(rule_id)
            if rule is not None:
                rule["fired"] += 1

    def fault_seed(self, rules: list[dict[str, Any]], marker: str) -> None:
        with self._mutex:
            if marker in self._seeded:
                return
            self._seeded.add(marker)
            wanted = {rule["id"] for rule in rules}
            for rule_id in [k for k, r in self._faults.items() if r.get("origin") == "catalog"]:
                if rule_id not in wanted:
                    del self._faults[rule_id]
            for rule in rules:
                if rule["id"] not in self._faults:
                    self._faults[rule["id"]] = {**rule, "calls": 0, "fired": 0}
            self._generation += 1

    # --- catalogs ---------------------------------------------------------------------
    def catalog_documents(self) -> list[dict[str, Any]]:
        with self._mutex:
            return list(self._catalogs)

    def catalog_set(self, documents: Sequence[dict[str, Any]]) -> None:
        copies = [json.loads(json.dumps(document)) for document in documents]
        with self._mutex:
            self._catalogs = copies
            self._generation += 1
