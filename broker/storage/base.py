"""The state-store contract shared by the memory, SQLite and PostgreSQL stores.

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

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from broker.storage.records import BindingRecord, InstanceRecord, OperationRecord

__all__ = [
    "Change",
    "Delete",
    "OPERATION_STATES",
    "Position",
    "JournalQuery",
    "Put",
    "Store",
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


@runtime_checkable
class Store(Protocol):
    url: str

    # --- lifecycle --------------------------------------------------------------------
    def check(self) -> None:
        """Raise :class:`StoreUnavailable` if the store cannot serve requests."""

    def close(self) -> None: ...

    # --- coordination -----------------------------------------------------------------
    def lock(self, key: str) -> AbstractContextManager[None]:
        """A mutex over ``key`` shared by every process using this store."""

    def generation(self) -> int:
        """A number that changes whenever catalog documents or fault rules change."""

    # --- OSB state --------------------------------------------------------------------
    def get_instance(self, instance_id: str) -> InstanceRecord | None: ...

    def get_binding(self, binding_id: str) -> BindingRecord | None: ...

    def get_operation(self, operation_id: str) -> OperationRecord | None: ...

    def latest_operation(
        self, instance_id: str, binding_id: str | None = None
    ) -> OperationRecord | None:
        """The newest operation of an instance (``binding_id=None``) or of a binding."""

    def bindings_of(self, instance_id: str) -> list[BindingRecord]: ...

    def apply(self, changes: Sequence[Change]) -> None:
        """Write every change or none of them."""

    def list_instances(
        self, limit: int | None = None, after: Position | None = None, newest_first: bool = False
    ) -> list[InstanceRecord]:
        """Instances by creation (``created_at``, then id), oldest first unless told.

        ``limit`` and ``after`` (the position of the last record of the previous page,
        exclusive) page through them with a keyset, so a page costs the same however
        many there are.
        """

    def list_bindings(
        self, limit: int | None = None, after: Position | None = None, newest_first: bool = False
    ) -> list[BindingRecord]:
        """Bindings, paged like :meth:`list_instances`."""

    def list_operations(
        self,
        limit: int = 1000,
        *,
        before: str | None = None,
        state: str | None = None,
        instance_id: str | None = None,
    ) -> list[OperationRecord]:
        """The newest ``limit`` operations, oldest first.

        ``before`` (an operation id) keeps only operations recorded before it, for the
        next page; ``state`` is ``in progress``, ``succeeded``, ``failed`` or
        ``finished`` (either of the last two); ``instance_id`` keeps one instance's
        (and its bindings') operations.
        """

    def prune_operations(self, finished_before: float) -> int:
        """Forget operations that finished before ``finished_before``; return how many.

        The newest operation of an instance or binding that still exists is kept
        whatever its age: ``last_operation`` without an operation id answers from it.
        """

    def counts(self) -> StateCounts: ...

    def reset(self, keep_journal: bool = False) -> None:
        """Forget all state, fault rules and catalog documents (and the journal)."""

    # --- request journal --------------------------------------------------------------
    def journal_append(
        self, entry: dict[str, Any], limit: int, max_bytes: int | None = None
    ) -> int:
        """Store an entry and return its id, keeping at most ``limit`` newest entries and
        about ``max_bytes`` of them (:mod:`broker.journal.retention`)."""

    def journal_query(self, query: JournalQuery) -> list[dict[str, Any]]:
        """Matching entries, oldest first (see :class:`JournalQuery` for ``limit``)."""

    def journal_clear(self) -> None: ...

    # --- fault rules ------------------------------------------------------------------
    def fault_add(self, rule: dict[str, Any]) -> str:
        """Store a rule (its ``id`` is assigned here) and return the id."""

    def fault_list(self) -> list[dict[str, Any]]:
        """Rules in creation order, each with ``calls`` and ``fired`` counters."""

    def fault_delete(self, rule_id: str) -> bool: ...

    def fault_delete_all(self, origin: str | None = None) -> int:
        """Delete every rule, or only those of ``origin`` (``"admin"``: added at run time,
        and any rule without an origin; ``"catalog"``: copied from the catalog); answer
        how many were deleted."""

    def fault_hit(self, rule_id: str) -> int:
        """Count one more matching call for a rule; return the new call count."""

    def fault_fired(self, rule_id: str) -> None:
        """Count one more time the rule's action was applied."""

    def fault_seed(self, rules: list[dict[str, Any]], marker: str) -> None:
        """Install catalog rules once per ``marker`` (catalog version).

        Catalog rules (``origin: catalog``) that are not in ``rules`` are removed,
        missing ones are added with fresh counters, existing ones keep theirs. A
        marker already seen (since the last reset) changes nothing, so a rule the
        user deleted stays deleted.
        """

    # --- catalog documents ------------------------------------------------------------
    def catalog_documents(self) -> list[dict[str, Any]]:
        """Catalogs sent over the admin API since the last reset, oldest first."""

    def catalog_set(self, documents: Sequence[dict[str, Any]]) -> None:
        """Replace the catalog documents with ``documents`` (oldest first), in one write.

        :class:`broker.catalog.source.CatalogSource` decides which to keep: the one
        being served and those that still define plans of existing instances.
        """


def iter_changes(changes: Sequence[Change]) -> Iterator[tuple[str, str, AnyRecord | None]]:
    """``(kind, id, record-or-None)`` for each change, in order."""
    for change in changes:
        if isinstance(change, Put):
            yield change.record.kind, change.record.id, change.record
        else:
            yield change.kind, change.id, None
