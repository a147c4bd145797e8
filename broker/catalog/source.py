"""The catalog every process serves right now, kept in step through the store.

The files given at start-up are the base. ``PUT /admin/catalog`` stores a document;
every process notices (the store's generation changes) on its next request and
rebuilds. Plans that disappeared stay *resolvable* (not listed, not provisionable)
so instances of removed plans keep working.

The store keeps the pushed document being served, the one before it (a process
that has not followed the push yet may still create an instance from it), and
older ones only while they define a removed plan that an instance or binding still
uses: a broker pushed a new catalog many times rebuilds from a few documents, not
from every push it ever had.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from broker.catalog.documents import CatalogDocument
from broker.catalog.loader import catalog_from_documents
from broker.catalog.model import Catalog, Plan, Service
from broker.storage.protocols import CatalogDocumentStore

__all__ = ["CatalogSource", "ADMIN_SOURCE"]

ADMIN_SOURCE = "PUT /admin/catalog"


class CatalogSource:
    def __init__(
        self,
        base: Catalog,
        store: CatalogDocumentStore,
        *,
        backend_problems: Callable[[str, Mapping[str, Any]], list[tuple[str, str]] | None],
        fault_problems: Callable[[Mapping[str, Any], str], list[tuple[str, str]]],
        backend_names: Iterable[str] = (),
    ) -> None:
        self.base = base
        self.store = store
        self._backend_problems = backend_problems
        self._fault_problems = fault_problems
        self._backend_names = tuple(backend_names)
        self._mutex = threading.Lock()
        self._generation: int | None = None
        self.catalog = base
        self._retired: dict[str, tuple[Service, Plan]] = {}
        # The pushed documents self.catalog was built from (none: the base alone) ...
        self._documents: list[Any] = []
        # ... and each with the catalog built from it.
        self._built: list[tuple[Any, Catalog]] = []

    def build(self, document: Any, source: str = ADMIN_SOURCE) -> Catalog:
        """Check a document exactly like a file; raise CatalogError with every problem."""
        return catalog_from_documents(
            [CatalogDocument(source, document)],
            backend_problems=self._backend_problems,
            fault_problems=self._fault_problems,
            backend_names=self._backend_names,
        )

    def refresh(self) -> int:
        """Follow the store: rebuild if catalog documents changed; return the generation.

        The generation also moves with fault rules, so a new generation only costs a
        read of the documents; the catalog is rebuilt when they differ.
        """
        generation = self.store.generation()
        if generation != self._generation:
            with self._mutex:
                if generation != self._generation:
                    documents = self.store.catalog_documents()
                    if documents != self._documents:
                        self._rebuild(documents)
                    self._generation = generation
        return generation

    def documents_after_push(
        self, document: Any, catalog: Catalog, plans_in_use: set[str]
    ) -> list[Any]:
        """What the store should keep once ``document`` (built as ``catalog``) is pushed."""
        kept: list[Any] = []
        with self._mutex:
            built = list(self._built)
        for index, (previous, previous_catalog) in enumerate(built):
            is_last = index == len(built) - 1
            still_needed = any(
                catalog.plan(plan.id) is None and plan.id in plans_in_use
                for plan in previous_catalog.plans
            )
            if is_last or still_needed:
                kept.append(previous)
        return [*kept, document]

    def _rebuild(self, documents: list[Any]) -> None:
        built = [(document, self.build(document)) for document in documents]
        catalogs = [self.base, *(catalog for _, catalog in built)]
        current = catalogs[-1]
        retired: dict[str, tuple[Service, Plan]] = {}
        for catalog in catalogs[:-1]:
            for service in catalog.services:
                for plan in service.plans:
                    if current.plan(plan.id) is None:
                        retired[plan.id] = (service, plan)
        self._retired = retired
        self.catalog = current
        self._documents = documents
        self._built = built

    def resolve(self, plan_id: str) -> tuple[Service, Plan] | None:
        """Service and plan of an existing instance, even if the plan was removed."""
        plan = self.catalog.plan(plan_id)
        if plan is not None:
            service = self.catalog.service(plan.service_id)
            if service is not None:
                return service, plan
        return self._retired.get(plan_id)

    def is_retired(self, plan_id: str) -> bool:
        return self.catalog.plan(plan_id) is None and plan_id in self._retired
