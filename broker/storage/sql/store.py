"""A store made of the SQL parts over one database: what SQLite and PostgreSQL share."""

from __future__ import annotations

from broker.storage.sql.catalogs import CatalogDocuments
from broker.storage.sql.database import Connection, Database
from broker.storage.sql.faults import FaultRules
from broker.storage.sql.meta import Generation
from broker.storage.sql.state import StateTables

__all__ = ["SQLParts"]


class SQLParts:
    """The state tables, fault rules and catalog documents of a store, sharing one database.

    Each contract method is the part's own bound method, set on the store: a call
    goes straight to the part that answers it, with no forwarding in between.
    """

    def __init__(self, database: Database) -> None:
        meta = Generation(database)
        state = StateTables(database)
        faults = FaultRules(database, meta)
        catalogs = CatalogDocuments(database, meta)
        self.generation = meta.generation
        # --- OSB state
        self.get_instance = state.get_instance
        self.get_binding = state.get_binding
        self.get_operation = state.get_operation
        self.latest_operation = state.latest_operation
        self.bindings_of = state.bindings_of
        self.apply = state.apply
        self.list_instances = state.list_instances
        self.list_bindings = state.list_bindings
        self.list_operations = state.list_operations
        self.prune_operations = state.prune_operations
        self.counts = state.counts
        # --- fault rules
        self.fault_add = faults.fault_add
        self.fault_list = faults.fault_list
        self.fault_delete = faults.fault_delete
        self.fault_delete_all = faults.fault_delete_all
        self.fault_hit = faults.fault_hit
        self.fault_fired = faults.fault_fired
        self.fault_seed = faults.fault_seed
        # --- catalog documents
        self.catalog_documents = catalogs.catalog_documents
        self.catalog_set = catalogs.catalog_set

    @staticmethod
    def _clear_parts(db: Connection) -> None:
        """Forget the state, fault rules and catalog documents, in the caller's transaction."""
        StateTables.clear(db)
        FaultRules.clear(db)
        CatalogDocuments.clear(db)
        Generation.bump(db)
