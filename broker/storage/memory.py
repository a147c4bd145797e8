"""``memory://``: the whole state in one process's memory (tests, the pytest plugin)."""

from __future__ import annotations

import json
import threading
import uuid
from collections import OrderedDict, deque
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from broker.journal.retention import bytes_to_free
from broker.storage.base import Change, JournalQuery, Position, StateCounts, iter_changes
from broker.storage.records import BindingRecord, InstanceRecord, OperationRecord, Record
from broker.storage.striped_locks import StripedLocks

__all__ = ["MemoryStore"]

R = TypeVar("R", bound=Record)
Rec = TypeVar("Rec", InstanceRecord, BindingRecord)


def _stored_copy(record: R | None) -> R | None:
    if record is None:
        return None
    return type(record).from_dict(json.loads(record.to_json()))


class MemoryStore:
    """A first-class fake of the store contract: same semantics, no I/O."""

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._mutex = threading.RLock()
        self._locks = StripedLocks()
        self._generation = 0
        self._journal_seq = 0
        self._clear_state()
        self._journal: deque[dict[str, Any]] = deque()
        self._journal_sizes: deque[int] = deque()
        self._journal_bytes = 0
        self._faults: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._catalogs: list[dict[str, Any]] = []
        self._seeded: set[str] = set()

    def _clear_state(self) -> None:
        self._instances: dict[str, InstanceRecord] = {}
        self._bindings: dict[str, BindingRecord] = {}
        self._bindings_by_instance: dict[str, set[str]] = {}
        self._operations: OrderedDict[str, OperationRecord] = OrderedDict()
        self._latest: dict[tuple[str, str | None], str] = {}

    # --- lifecycle / coordination -----------------------------------------------------
    def check(self) -> None:
        return None

    def close(self) -> None:
        return None

    def lock(self, key: str) -> AbstractContextManager[None]:
        return self._locks.hold(key)

    def generation(self) -> int:
        return self._generation

    # --- OSB state --------------------------------------------------------------------
    def get_instance(self, instance_id: str) -> InstanceRecord | None:
        return self._instances.get(instance_id)

    def get_binding(self, binding_id: str) -> BindingRecord | None:
        return self._bindings.get(binding_id)

    def get_operation(self, operation_id: str) -> OperationRecord | None:
        return self._operations.get(operation_id)

    def latest_operation(
        self, instance_id: str, binding_id: str | None = None
    ) -> OperationRecord | None:
        operation_id = self._latest.get((instance_id, binding_id))
        return self._operations.get(operation_id) if operation_id else None

    def bindings_of(self, instance_id: str) -> list[BindingRecord]:
        with self._mutex:
            ids = sorted(self._bindings_by_instance.get(instance_id, ()))
            return [self._bindings[binding_id] for binding_id in ids]

    def apply(self, changes: Sequence[Change]) -> None:
        # Records are stored as copies made through JSON, like the persistent stores do:
        # a change that cannot be stored fails before anything is written, and a
        # caller never shares a dict with the stored state.
        prepared = [
            (kind, record_id, _stored_copy(record))
            for kind, record_id, record in iter_changes(changes)
        ]
        with self._mutex:
            for kind, record_id, record in prepared:
                if kind == "instance":
                    self._put_or_delete(self._instances, record_id, record)
                elif kind == "binding":
                    self._apply_binding(record_id, record)
                else:
                    self._apply_operation(record_id, record)

    @staticmethod
    def _put_or_delete(table: dict[str, Any], record_id: str, record: Any) -> None:
        if record is None:
            table.pop(record_id, None)
        else:
            table[record_id] = record

    def _apply_binding(self, binding_id: str, record: Any) -> None:
        old = self._bindings.get(binding_id)
        if old is not None:
            self._bindings_by_instance.get(old.instance_id, set()).discard(binding_id)
        self._put_or_delete(self._bindings, binding_id, record)
        if record is not None:
            self._bindings_by_instance.setdefault(record.instance_id, set()).add(binding_id)

    def _apply_operation(self, operation_id: str, record: Any) -> None:
        if record is None:
            self._operations.pop(operation_id, None)
            return
        is_new = operation_id not in self._operations
        self._operations[operation_id] = record
        if is_new:
            self._latest[(record.instance_id, record.binding_id)] = operation_id

    def list_instances(
        self, limit: int | None = None, after: Position | None = None, newest_first: bool = False
    ) -> list[InstanceRecord]:
        with self._mutex:
            records = list(self._instances.values())
        return _page(records, limit, after, newest_first)

    def list_bindings(
        self, limit: int | None = None, after: Position | None = None, newest_first: bool = False
    ) -> list[BindingRecord]:
        with self._mutex:
            records = list(self._bindings.values())
        return _page(records, limit, after, newest_first)

    def list_operations(
        self,
        limit: int = 1000,
        *,
        before: str | None = None,
        state: str | None = None,
        instance_id: str | None = None,
    ) -> list[OperationRecord]:
        with self._mutex:
            operations = list(self._operations.values())
        if before is not None:
            ids = [operation.id for operation in operations]
            operations = operations[: ids.index(before)] if before in ids else operations
        if instance_id is not None:
            operations = [op for op in operations if op.instance_id == instance_id]
        if state == "finished":
            operations = [op for op in operations if op.finished]
        elif state is not None:
            operations = [op for op in operations if op.state == state]
        return operations[-limit:] if limit > 0 else []

    def prune_operations(self, finished_before: float) -> int:
        with self._mutex:
            keep = {
                operation_id
                for (instance_id, binding_id), operation_id in self._latest.items()
                if (binding_id is None and instance_id in self._instances)
                or (binding_id is not None and binding_id in self._bindings)
            }
            old = [
                operation.id
                for operation in self._operations.values()
                if operation.finished
                and operation.finished_at is not None
                and operation.finished_at < finished_before
                and operation.id not in keep
            ]
            for operation_id in old:
                operation = self._operations.pop(operation_id)
                key = (operation.instance_id, operation.binding_id)
                if self._latest.get(key) == operation_id:
                    del self._latest[key]
            return len(old)

    def counts(self) -> StateCounts:
        with self._mutex:
            instances: dict[tuple[str, str], int] = {}
            for instance in self._instances.values():
                key = (instance.service_id, instance.plan_id)
                instances[key] = instances.get(key, 0) + 1
            bindings: dict[tuple[str, str], int] = {}
            for binding in self._bindings.values():
                key = (binding.service_id, binding.plan_id)
                bindings[key] = bindings.get(key, 0) + 1
            running: dict[str, int] = {}
            for operation in self._operations.values():
                if operation.state == "in progress":
                    running[operation.type] = running.get(operation.type, 0) + 1
            return StateCounts(instances, bindings, running)

    def reset(self, keep_journal: bool = False) -> None:
        with self._mutex:
            self._clear_state()
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
        size = len(json.dumps(entry, separators=(",", ":")))
        with self._mutex:
            self._journal_seq += 1
            stored = {**entry, "id": self._journal_seq}
            self._journal.append(stored)
            self._journal_sizes.append(size)
            self._journal_bytes += size
            excess = bytes_to_free(self._journal_bytes, max_bytes) if max_bytes else 0
            while len(self._journal) > limit or excess > 0:
                self._journal.popleft()
                dropped = self._journal_sizes.popleft()
                self._journal_bytes -= dropped
                excess -= dropped
            return self._journal_seq

    def journal_query(self, query: JournalQuery) -> list[dict[str, Any]]:
        with self._mutex:
            found = [entry for entry in self._journal if query.matches(entry)]
        if query.forward:
            return found[: query.limit]
        return found[-query.limit :] if query.limit else []

    def journal_clear(self) -> None:
        with self._mutex:
            self._journal.clear()
            self._journal_sizes.clear()
            self._journal_bytes = 0

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


def _page(
    records: list[Rec], limit: int | None, after: Position | None, newest_first: bool
) -> list[Rec]:
    """``records`` in creation order from ``after`` on (exclusive), at most ``limit``."""
    ordered = sorted(records, key=_position, reverse=newest_first)
    if after is not None:
        after = (float(after[0]), str(after[1]))
        ordered = [
            record
            for record in ordered
            if (_position(record) < after if newest_first else _position(record) > after)
        ]
    return ordered if limit is None else ordered[:limit]


def _position(record: InstanceRecord | BindingRecord) -> Position:
    return (record.created_at, record.id)
