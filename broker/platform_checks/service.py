"""One application's platform checks: the checker, the findings store, and their reports.

Built by :func:`broker.platform_checks.hooks.register_platform_checks`; the web layer
finds it with :func:`platform_checks`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app

from broker.journal.entries import MAX_TEXT, cut
from broker.platform_checks.checker import Checker, Sighting
from broker.platform_checks.findings_store import FindingsQuery, FindingsStore, NewFinding
from broker.platform_checks.rules import RULES

__all__ = ["PlatformChecks", "iso_time", "platform_checks"]

EXTENSION = "mockbroker.platform_checks"
log = logging.getLogger("broker.platform_checks")

# Seconds between two looks for orphan-mitigation windows that closed, per process
# (findings reads always look).
SETTLE_EVERY = 1.0


def _bounded(value: str | None) -> str | None:
    """An id as findings keep it: bounded and without NUL, as the journal keeps it."""
    if value is None or (len(value) <= MAX_TEXT and "\x00" not in value):
        return value
    return cut(value.replace("\x00", "\\u0000"))


def iso_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


class PlatformChecks:
    def __init__(
        self,
        checker: Checker,
        findings: FindingsStore,
        enabled: bool,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.checker = checker
        self.findings = findings
        self.enabled = enabled
        self.clock = clock
        self._next_settle = 0.0
        self._settle_mutex = threading.Lock()

    def record(self, sightings: Iterable[Sighting], request_id: int | None, now: float) -> int:
        """Store sightings (one per rule and resource); answer how many were stored."""
        stored = 0
        seen: set[tuple[str, str | None, str | None]] = set()
        for sighting in sightings:
            key = (sighting.rule, sighting.instance_id, sighting.binding_id)
            if key in seen:
                continue
            seen.add(key)
            rule = RULES[sighting.rule]
            ids = tuple(sighting.request_ids)
            if request_id is not None and request_id not in ids:
                ids = (*ids, request_id)
            self.findings.record(
                NewFinding(
                    rule=rule.id,
                    level=rule.level,
                    summary=sighting.summary or rule.summary,
                    spec=rule.spec(),
                    instance_id=_bounded(sighting.instance_id),
                    binding_id=_bounded(sighting.binding_id),
                    request_ids=ids,
                    time=now,
                )
            )
            stored += 1
        return stored

    def settle(self, force: bool = False) -> None:
        """Decide the orphan-mitigation windows that closed; at most once a second unless forced."""
        if not self.enabled:
            return
        moment = time.monotonic()
        if not force and moment < self._next_settle:
            return
        with self._settle_mutex:
            self._next_settle = moment + SETTLE_EVERY
        now = self.clock()
        for sighting in self.checker.overdue(now):
            self.record([sighting], None, now)

    def query(self, query: FindingsQuery) -> list[dict[str, Any]]:
        """Findings as ``GET /admin/findings`` shows them, closed windows decided first."""
        self.settle(force=True)
        return [shown(found) for found in self.findings.findings(query)]

    def clear(self) -> None:
        """Forget every finding and everything the checks remembered (the deleted ids
        are kept with the state)."""
        self.findings.clear()
        self.checker.sources.store.clear_deleted()

    def totals(self) -> dict[tuple[str, str], int]:
        """Sightings by (rule, level), for ``/metrics``."""
        totals: dict[tuple[str, str], int] = {}
        for found in self.findings.findings(FindingsQuery()):
            key = (found["rule"], found["level"])
            totals[key] = totals.get(key, 0) + int(found["count"])
        return totals


def shown(found: dict[str, Any]) -> dict[str, Any]:
    """A stored finding in the shape of the HTTP API."""
    return {
        "rule": found["rule"],
        "level": found["level"],
        "summary": found["summary"],
        "instance_id": found["instance_id"],
        "binding_id": found["binding_id"],
        "request_ids": list(found["request_ids"]),
        "count": int(found["count"]),
        "first_seen": iso_time(float(found["first_seen_epoch"])),
        "last_seen": iso_time(float(found["last_seen_epoch"])),
        "spec": found["spec"],
    }


def platform_checks(app: Flask | None = None) -> PlatformChecks:
    found: PlatformChecks = (app or current_app).extensions[EXTENSION]
    return found
