"""What the checks see: one OSB request and its answer, what they find, and what they read.

No Flask here. The web layer describes each request as an :class:`Exchange`; the
answer's body and headers are read only by the checks that need them (most answers
are never decoded).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from broker.catalog.model import Plan, Service
from broker.platform_checks.findings_store import FindingsStore
from broker.storage import Store

__all__ = [
    "DEFAULT_REMEMBERED_IDS",
    "POLL_TOLERANCE",
    "Exchange",
    "Lookup",
    "Sighting",
    "Sources",
    "resource_key",
    "retry_seconds",
]

# Seconds a poll may come early (before Retry-After passed) or late (after the
# maximum polling duration) without a finding: clocks, rounding of Retry-After to
# whole seconds, and the time the answer took to travel.
POLL_TOLERANCE = 1.0
# Deleted ids kept per kind (instances, bindings) for id-reuse, newest first.
DEFAULT_REMEMBERED_IDS = 10_000

Lookup = Callable[[str], tuple[Service, Plan] | None]


def _nothing() -> bytes:
    return b""


def _no_header() -> str | None:
    return None


def _no_query() -> Mapping[str, str]:
    return {}


@dataclass(frozen=True)
class Sighting:
    """A rule broken by a request, about one resource."""

    rule: str
    instance_id: str | None
    binding_id: str | None = None
    # Journal ids of earlier requests that show it too (an orphan mitigation's answer).
    request_ids: tuple[int, ...] = ()
    # Replaces the rule's summary when the case deserves a sentence of its own.
    summary: str | None = None


@dataclass
class Exchange:
    """One OSB request and its answer, as the checks see them."""

    operation: str | None
    instance_id: str | None
    binding_id: str | None
    # The announced X-Broker-API-Version, or None if missing or unusable.
    version: tuple[int, int] | None
    body: dict[str, Any] | None
    identity_platform: str | None
    status: int | None
    fault: str | None
    # The decoded value of the originating identity, if one was sent.
    identity_value: dict[str, Any] | None = None
    # The journal id of this request (None when the journal is off).
    request_id: int | None = None
    time: float = field(default_factory=time.time)
    # How to read the answer's body and its Retry-After header, when a check needs them.
    read_answer: Callable[[], bytes] = _nothing
    read_retry_after: Callable[[], str | None] = _no_header
    # How to read the query string (decoded only for the checks that look at it).
    read_query: Callable[[], Mapping[str, str]] = _no_query
    # The type of the operation a last_operation poll asked about (set by the poll check).
    polled: str | None = None
    _decoded: Any = field(default=None, init=False, repr=False)
    _was_decoded: bool = field(default=False, init=False, repr=False)

    @property
    def query(self) -> Mapping[str, str]:
        return self.read_query()

    @property
    def retry_after(self) -> str | None:
        return self.read_retry_after()

    def response_json(self) -> Any:
        """The answer's body decoded as JSON (None if empty or not JSON); decoded once."""
        if not self._was_decoded:
            raw = self.read_answer()
            try:
                self._decoded = json.loads(raw) if raw else None
            except ValueError:
                self._decoded = None
            self._was_decoded = True
        return self._decoded

    @property
    def ids(self) -> tuple[str | None, str | None]:
        return self.instance_id, self.binding_id


@dataclass(frozen=True)
class Sources:
    """What the checks read and remember besides the request: the broker's state, the
    findings store (shared by every worker), the catalog, and the settings."""

    store: Store
    findings: FindingsStore
    lookup: Lookup
    orphan_window: float
    remembered_ids: int = DEFAULT_REMEMBERED_IDS


def resource_key(instance_id: str | None, binding_id: str | None) -> str:
    return f"{instance_id}/{binding_id}" if binding_id else f"{instance_id}"


def retry_seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None  # an HTTP date: the broker sends seconds, so this is not ours
    return seconds if seconds >= 0 else None
