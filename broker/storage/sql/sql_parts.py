"""A store made of the SQL parts over one database: what SQLite and PostgreSQL share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from broker.storage.base import Change, Position, StateCounts
from broker.storage.parts import CATALOGS, FAULTS, STATE, lend, methods_of
from broker.storage.records import BindingRecord, InstanceRecord, OperationRecord
from broker.storage.sql.catalogs import CatalogDocuments
from broker.storage.sql.database import Connection, Database
from broker.storage.sql.faults import FaultRules
from broker.storage.sql.meta import Generation
from broker.storage.sql.state import StateTables

__all__ = ["SQLParts"]


class SQLParts:
    """The state tables, fault rules and catalog documents of a store, sharing one
    database; each method below is its part's own once the store is built
    (:func:`~broker.storage.parts.lend`)."""

    def __init__(self, database: Database) -> None:
        self._meta = Generation(database)
        self._state = StateTables(database)
        self._faults = FaultRules(database, self._meta)
        self._catalogs = CatalogDocuments(database, self._meta)
        lend(self, SQLParts, methods_of(self._meta, ("generation",)))
        lend(self, SQLParts, methods_of(self._state, STATE))
        lend(self, SQLParts, methods_of(self._faults, FAULTS))
        lend(self, SQLParts, methods_of(self._catalogs, CATALOGS))

    @staticmethod
    def _clear_parts(db: Connection) -> None:
        """Forget the state, fault rules and catalog documents, in the caller's transaction."""
        StateTables.clear(db)
        FaultRules.clear(db)
        CatalogDocuments.clear(db)
        Generation.bump(db)

    def generation(self) -> int:
        return self._meta.generation()

    # --- OSB state --------------------------------------------------------------------
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

    # --- fault rules ------------------------------------------------------------------
    def fault_add(self, rule: dict[str, Any]) -> str:
        return self._faults.fault_add(rule)

    def fault_list(self) -> list[dict[str, Any]]:
        return self._faults.fault_list()

    def fault_delete(self, rule_id: str) -> bool:
        return self._faults.fault_delete(rule_id)

    def fault_delete_all(self, origin: str | None = None) -> int:
        return self._faults.fault_delete_all(origin)

    def fault_hit(self, rule_id: str) -> int:
        return self._faults.fault_hit(rule_id)

    def fault_fired(self, rule_id: str) -> None:
        self._faults.fault_fired(rule_id)

    def fault_seed(self, rules: list[dict[str, Any]], marker: str) -> None:
        self._faults.fault_seed(rules, marker)

    # --- catalog documents ------------------------------------------------------------
    def catalog_documents(self) -> list[dict[str, Any]]:
        return self._catalogs.catalog_documents()

    def catalog_set(self, documents: Sequence[dict[str, Any]]) -> None:
        self._catalogs.catalog_set(documents)
