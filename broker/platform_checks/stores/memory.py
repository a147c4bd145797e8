"""Findings and watches in one process's memory (``memory://`` stores)."""

from __future__ import annotations

import copy
import threading
from typing import Any

from broker.platform_checks.findings_store import FindingsQuery, NewFinding, merged

__all__ = ["MemoryFindings"]


class MemoryFindings:
    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._findings: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._watches: dict[str, tuple[dict[str, Any], float | None]] = {}
        # The keys of watches with a due time: take_due looks at these alone.
        self._due: dict[str, float] = {}

    def record(self, finding: NewFinding) -> bool:
        with self._mutex:
            stored = self._findings.get(finding.key)
            self._findings[finding.key] = merged(stored, finding)
            return stored is None

    def findings(self, query: FindingsQuery) -> list[dict[str, Any]]:
        with self._mutex:
            found = [copy.deepcopy(f) for f in self._findings.values() if query.matches(f)]
        return sorted(found, key=lambda f: f["first_seen_epoch"])

    def clear(self) -> None:
        with self._mutex:
            self._findings.clear()
            self._watches.clear()
            self._due.clear()

    def watch_get(self, key: str) -> dict[str, Any] | None:
        held = self._watches.get(key)
        return copy.deepcopy(held[0]) if held is not None else None

    def watch_put(self, key: str, value: dict[str, Any], due: float | None = None) -> None:
        with self._mutex:
            self._watches[key] = (copy.deepcopy(value), due)
            if due is None:
                self._due.pop(key, None)
            else:
                self._due[key] = due

    def watch_take(self, key: str) -> dict[str, Any] | None:
        with self._mutex:
            held = self._watches.pop(key, None)
            self._due.pop(key, None)
        return held[0] if held is not None else None

    def take_due(self, now: float, limit: int = 100) -> list[tuple[str, dict[str, Any]]]:
        with self._mutex:
            keys = [key for key, due in self._due.items() if due <= now][:limit]
            for key in keys:
                del self._due[key]
            return [(key, self._watches.pop(key)[0]) for key in keys]

    def close(self) -> None:
        return None
