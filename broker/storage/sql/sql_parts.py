"""A store made of the SQL parts over one database: what SQLite and PostgreSQL share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from broker.storage.parts import CATALOGS, DELETED, FAULTS, STATE, lend, methods_of
from broker.storage.sql.catalogs import CatalogDocuments
from broker.storage.sql.database import Connection, Database
from broker.storage.sql.deleted_ids import DeletedIdTables
from broker.storage.sql.faults import FaultRules
from broker.storage.sql.meta import Generation
from broker.storage.sql.state import StateTables
from broker.storage.state_forwarding import ForwardsState

__all__ = ["SQLParts"]


class SQLParts(ForwardsState):
    """The state tables, deleted ids, fault rules and catalog documents of a store,
    sharing one database; each method below is its part's own once the store is built
    (:func:`~broker.storage.parts.lend`)."""

    _state: StateTables
    _deleted: DeletedIdTables

    def __init__(self, database: Database) -> None:
        self._meta = Generation(database)
        self._deleted = DeletedIdTables(database)
        self._state = StateTables(database, self._deleted)
        self._faults = FaultRules(database, self._meta)
        self._catalogs = CatalogDocuments(database, self._meta)
        lend(self, SQLParts, methods_of(self._meta, ("generation",)))
        lend(self, SQLParts, methods_of(self._state, STATE))
        lend(self, SQLParts, methods_of(self._deleted, DELETED))
        lend(self, SQLParts, methods_of(self._faults, FAULTS))
        lend(self, SQLParts, methods_of(self._catalogs, CATALOGS))

    @staticmethod
    def _clear_parts(db: Connection) -> None:
        """Forget the state, deleted ids, fault rules and catalog documents, in the
        caller's transaction."""
        StateTables.clear(db)
        DeletedIdTables.clear(db)
        FaultRules.clear(db)
        CatalogDocuments.clear(db)
        Generation.bump(db)

    def generation(self) -> int:
        return self._meta.generation()

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
