"""Where findings and the checks' memory live: one contract, one implementation per store.

Every gunicorn worker and every replica sees the same findings, so they live next to
the broker's state: in process memory for ``memory://``, in a SQLite file beside the
state file for ``sqlite:///``, in the same PostgreSQL schema for ``postgresql://``.

Two kinds of things are kept (the ids deleted, for ``id-reuse``, are kept with the
state: :mod:`broker.storage.deleted_ids`):

* **findings**, grouped: one per rule per resource (instance id, binding id), with
  how often it was seen, the journal ids of the requests that show it (the newest
  :data:`MAX_REQUEST_IDS`), and when it was first and last seen;
* **watches**: small JSON values under a key, what a check needs to remember between
  requests (the operation the broker returned, when polling may resume, a pending
  orphan mitigation and when its window closes). A watch with a
  ``due`` time is collected by :meth:`FindingsStore.take_due` once that time passed,
  exactly once whichever process asks first.

Every method is one or two short statements: a request costs at most a few key lookups.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "MAX_REQUEST_IDS",
    "FindingsQuery",
    "FindingsStore",
    "NewFinding",
]

# The request ids a finding keeps (the newest ones; count says how many there were).
MAX_REQUEST_IDS = 50


@dataclass(frozen=True)
class NewFinding:
    """One more sighting of a rule broken for one resource."""

    rule: str
    level: str
    summary: str
    spec: dict[str, Any]
    instance_id: str | None
    binding_id: str | None
    request_ids: tuple[int, ...]
    time: float

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.rule, self.instance_id or "", self.binding_id or "")


@dataclass(frozen=True)
class FindingsQuery:
    """Filters of ``GET /admin/findings``; ``None`` means "any"."""

    rules: tuple[str, ...] | None = None
    levels: tuple[str, ...] | None = None
    instance_id: str | None = None
    since: float | None = None

    def matches(self, finding: dict[str, Any]) -> bool:
        if self.rules is not None and finding["rule"] not in self.rules:
            return False
        if self.levels is not None and finding["level"] not in self.levels:
            return False
        if self.instance_id is not None and finding["instance_id"] != self.instance_id:
            return False
        return self.since is None or finding["last_seen_epoch"] >= self.since


def merged(stored: dict[str, Any] | None, new: NewFinding) -> dict[str, Any]:
    """The stored finding (a dict, as every store keeps it) with one more sighting."""
    if stored is None:
        return {
            "rule": new.rule,
            "level": new.level,
            "summary": new.summary,
            "instance_id": new.instance_id,
            "binding_id": new.binding_id,
            "request_ids": list(new.request_ids[-MAX_REQUEST_IDS:]),
            "count": 1,
            "first_seen_epoch": new.time,
            "last_seen_epoch": new.time,
            "spec": new.spec,
        }
    ids = [*stored["request_ids"], *(i for i in new.request_ids if i not in stored["request_ids"])]
    return {
        **stored,
        "summary": new.summary,
        "request_ids": ids[-MAX_REQUEST_IDS:],
        "count": int(stored["count"]) + 1,
        "last_seen_epoch": max(float(stored["last_seen_epoch"]), new.time),
    }


@runtime_checkable
class FindingsStore(Protocol):
    def record(self, finding: NewFinding) -> bool:
        """Add a sighting; True if this is the first one of its rule and resource."""

    def findings(self, query: FindingsQuery) -> list[dict[str, Any]]:
        """Matching findings, oldest first (by first sighting)."""

    def clear(self) -> None:
        """Forget every finding and every watch."""

    def watch_get(self, key: str) -> dict[str, Any] | None: ...

    def watch_put(self, key: str, value: dict[str, Any], due: float | None = None) -> None:
        """Set ``key`` (replacing what it held); ``due``: when :meth:`take_due` collects it."""

    def watch_take(self, key: str) -> dict[str, Any] | None:
        """Remove ``key`` and answer what it held: one caller gets it, the others None."""

    def take_due(self, now: float, limit: int = 100) -> list[tuple[str, dict[str, Any]]]:
        """Remove and answer up to ``limit`` watches whose ``due`` is at or before ``now``."""

    def close(self) -> None: ...
