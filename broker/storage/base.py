"""What stores read and write: changes, journal queries, counts (the contract is
:mod:`broker.storage.protocols`).

The state-store contract is shared by the memory, SQLite and PostgreSQL stores.

A store keeps four things: the OSB state (instances, bindings, operations), the
request journal, the fault rules with their counters, and catalog documents sent
through the admin API. Every broker process (every gunicorn worker, every replica)
reads and writes the same store, so everything that must look like *one* broker
lives here and nowhere else.

Concurrency contract:

* :meth:`Store.lock` is a mutex shared by every process using the store. The
  broker holds the lock of an instance id while it decides and performs any change
  to that instance or its bindings, so two requests never interleave on one
  resource.
* :meth:`Store.apply` writes a list of changes atomically: all or nothing, durable
  when it returns (for stores that persist).
* :meth:`Store.fault_hit` increments a rule's call counter atomically and returns
  the new value, so "fail the first 3 calls" fires exactly 3 times across processes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from broker.storage.records import BindingRecord, InstanceRecord, OperationRecord

__all__ = [
    "Change",
    "Delete",
    "OPERATION_STATES",
    "Position",
    "JournalQuery",
    "Put",
    "StoreUnavailable",
    "StateCounts",
]

AnyRecord = InstanceRecord | BindingRecord | OperationRecord
# Where a record stands in creation order: (created_at, id).
Position = tuple[float, str]
OPERATION_STATES = frozenset({"in progress", "succeeded", "failed", "finished"})


class StoreUnavailable(RuntimeError):
    """The store cannot be reached or used; the message says why."""


@dataclass(frozen=True)
class Put:
    record: AnyRecord


@dataclass(frozen=True)
class Delete:
    kind: str  # "instance" | "binding" | "operation"
    id: str


Change = Put | Delete


@dataclass(frozen=True)
class JournalQuery:
    """Filters of ``GET /admin/requests``; ``None`` means "any"."""

    operation: str | None = None
    instance_id: str | None = None
    binding_id: str | None = None
    method: str | None = None
    status: int | None = None
    # Only entries with a larger id (exclusive) ...
    since_id: int | None = None
    # ... or recorded at or after this time (seconds since the epoch) ...
    since_time: float | None = None
    # ... and only entries with a smaller id (exclusive).
    before_id: int | None = None
    limit: int = 1000

    @property
    def forward(self) -> bool:
        """Oldest matches first (a ``since`` is given), else the newest ``limit`` ones."""
        return self.since_id is not None or self.since_time is not None

    def matches(self, entry: dict[str, Any]) -> bool:
        if self.operation is not None and entry.get("operation") != self.operation:
            return False
        if self.instance_id is not None and entry.get("instance_id") != self.instance_id:
            return False
        if self.binding_id is not None and entry.get("binding_id") != self.binding_id:
            return False
        if self.method is not None and entry.get("method") != self.method:
            return False
        if self.status is not None and entry.get("status") != self.status:
            return False
        if self.since_id is not None and int(entry["id"]) <= self.since_id:
            return False
        if self.since_time is not None and float(entry["epoch"]) < self.since_time:
            return False
        if self.before_id is not None and int(entry["id"]) >= self.before_id:
            return False
        return True


@dataclass(frozen=True)
class StateCounts:
    """Gauges for ``/metrics``: counts by (service_id, plan_id) and operations running."""

    instances: dict[tuple[str, str], int]
    bindings: dict[tuple[str, str], int]
    operations_in_progress: dict[str, int]
