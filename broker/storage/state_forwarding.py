"""The OSB state methods of a store, each forwarding to the store's state part (and the
deleted ids' to its deleted-ids part).

Memory and SQL stores both answer them from a part (:class:`~broker.storage.memory_state.
MemoryState`, :class:`~broker.storage.sql.state.StateTables`); the forwards are written
once here, and :func:`broker.storage.parts.lend` replaces them on each store instance
by the part's own methods.
"""

from __future__ import annotations

from collections.abc import Sequence

from broker.storage.base import Change, Position, StateCounts
from broker.storage.deleted_ids import Remembered
from broker.storage.protocols import DeletedIdStore, StateRecords
from broker.storage.records import BindingRecord, InstanceRecord, OperationRecord

__all__ = ["ForwardsState"]


class ForwardsState:
    """The :class:`~broker.storage.protocols.StateRecords` methods, forwarded to ``_state``,
    and the :class:`~broker.storage.protocols.DeletedIdStore` ones, to ``_deleted``."""

    _state: StateRecords
    _deleted: DeletedIdStore

    def get_instance(self, instance_id: str) -> InstanceRecord | None:
        return self._state.get_instance(instance_id)

    def get_binding(self, binding_id: str) -> BindingRecord | None:
        return self._state.get_binding(binding_id)

    def get_operation(self, operation_id: str) -> OperationRecord | None:
        return self._state.get_operation(operation_id)

    def latest_operation(
        self, instance_id: str, binding_id: str | None = None
    ) -> OperationRecord | None:
        return self._state.latest_operation(instance_id, binding_id)

    def bindings_of(self, instance_id: str) -> list[BindingRecord]:
        return self._state.bindings_of(instance_id)

    def apply(self, changes: Sequence[Change]) -> None:
        self._state.apply(changes)

    def list_instances(
        self, limit: int | None = None, after: Position | None = None, newest_first: bool = False
    ) -> list[InstanceRecord]:
        return self._state.list_instances(limit, after, newest_first)

    def list_bindings(
        self, limit: int | None = None, after: Position | None = None, newest_first: bool = False
    ) -> list[BindingRecord]:
        return self._state.list_bindings(limit, after, newest_first)

    def list_operations(
        self,
        limit: int = 1000,
        *,
        before: str | None = None,
        state: str | None = None,
        instance_id: str | None = None,
    ) -> list[OperationRecord]:
        return self._state.list_operations(
            limit, before=before, state=state, instance_id=instance_id
        )

    def prune_operations(self, finished_before: float) -> int:
        return self._state.prune_operations(finished_before)

    def counts(self) -> StateCounts:
        return self._state.counts()

    def remember_deleted(self, kind: str, resource_id: str) -> Remembered:
        return self._deleted.remember_deleted(kind, resource_id)

    def settle_deleted(self, remembered: Remembered, keep: int, stands: bool) -> None:
        self._deleted.settle_deleted(remembered, keep, stands)

    def take_deleted(self, kind: str, resource_id: str, keep: int) -> bool:
        return self._deleted.take_deleted(kind, resource_id, keep)

    def clear_deleted(self) -> None:
        self._deleted.clear_deleted()
