"""The OSB state of the memory store: instances, bindings, operations, in dicts."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, TypeVar

from broker.storage.base import Change, Position, Put, StateCounts
from broker.storage.deleted_ids import EXPECTED_DELETE
from broker.storage.memory_deleted_ids import MemoryDeletedIds
from broker.storage.records import BindingRecord, InstanceRecord, OperationRecord

__all__ = ["MemoryState"]

Rec = TypeVar("Rec", InstanceRecord, BindingRecord)


class MemoryState:
    """:class:`~broker.storage.protocols.StateStore` without its locks, in memory.

    Records are stored as copies made through JSON, like the persistent stores keep
    them: a change that cannot be stored fails before anything is written, and a
    caller never shares a value with the stored state. :meth:`apply` also remembers
    the id of the delete the request announced (:mod:`broker.storage.deleted_ids`), in
    ``deleted``, under the same mutex.
    """

    def __init__(self, mutex: threading.RLock, deleted: MemoryDeletedIds) -> None:
        self._mutex = mutex
        self._deleted = deleted
        self.clear()

    def clear(self) -> None:
        """Forget every instance, binding and operation."""
        self._instances: dict[str, InstanceRecord] = {}
        self._bindings: dict[str, BindingRecord] = {}
        self._bindings_by_instance: dict[str, set[str]] = {}
        self._operations: OrderedDict[str, OperationRecord] = OrderedDict()
        self._latest: dict[tuple[str, str | None], str] = {}

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
        prepared: list[tuple[str, str, Any]] = [
            (change.record.kind, change.record.id, change.record.stored_copy())
            if isinstance(change, Put)
            else (change.kind, change.id, None)
            for change in changes
        ]
        expected = EXPECTED_DELETE.get()
        with self._mutex:
            for kind, record_id, record in prepared:
                if (
                    record is None
                    and expected is not None
                    and record_id == expected.id
                    and kind == expected.kind
                    and expected.remembered is None
                ):
                    expected.remembered = self._deleted.remember(kind, record_id)
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
