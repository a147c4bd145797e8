"""The store contract, cut by concern: each part of the broker asks for the part it uses.

- :class:`StateStore`: the OSB state (instances, bindings, operations) and the
  locks the OSB rules hold while they change it;
- :class:`JournalStore`: the request journal;
- :class:`FaultStore`: fault rules with their counters;
- :class:`CatalogDocumentStore`: catalogs sent through the admin API;
- :class:`DeletedIdStore`: the ids deleted, for the platform checks' ``id-reuse``;
- :class:`Store`: all five plus lifecycle, which every store implements
  (``tests/stores/test_store_contract.py`` runs against each).

:meth:`Coordinated.generation` changes whenever catalog documents or fault rules
change: every worker process compares it once per request to follow what the
others did (:meth:`broker.web.runtime.Runtime.sync`).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol, runtime_checkable

from broker.storage.base import Change, JournalQuery, Position, StateCounts
from broker.storage.deleted_ids import Remembered
from broker.storage.records import BindingRecord, InstanceRecord, OperationRecord

__all__ = [
    "CatalogDocumentStore",
    "Coordinated",
    "DeletedIdStore",
    "FaultStore",
    "JournalStore",
    "StateRecords",
    "StateStore",
    "Store",
]


class Coordinated(Protocol):
    def generation(self) -> int:
        """A number that changes whenever catalog documents or fault rules change."""


class StateRecords(Protocol):
    """Instances, bindings and operations: what a store's state part answers."""

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


class StateStore(StateRecords, Protocol):
    """Instances, bindings and operations, changed under locks shared by every process."""

    def lock(self, key: str) -> AbstractContextManager[None]:
        """A mutex over ``key`` shared by every process using this store."""


class JournalStore(Protocol):
    def journal_append(
        self, entry: dict[str, Any], limit: int, max_bytes: int | None = None
    ) -> int:
        """Store an entry and return its id, keeping at most ``limit`` newest entries and
        about ``max_bytes`` of them (:mod:`broker.journal.retention`)."""

    def journal_query(self, query: JournalQuery) -> list[dict[str, Any]]:
        """Matching entries, oldest first (see :class:`JournalQuery` for ``limit``)."""

    def journal_clear(self) -> None: ...


class FaultStore(Coordinated, Protocol):
    """Fault rules, with counters every process increments atomically."""

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
        """Count one more matching call for a rule; return the new call count, so that
        "fail the first 3 calls" fires exactly 3 times across processes."""

    def fault_fired(self, rule_id: str) -> None:
        """Count one more time the rule's action was applied."""

    def fault_seed(self, rules: list[dict[str, Any]], marker: str) -> None:
        """Install catalog rules once per ``marker`` (catalog version).

        Catalog rules (``origin: catalog``) that are not in ``rules`` are removed,
        missing ones are added with fresh counters, existing ones keep theirs. A
        marker already seen (since the last reset) changes nothing, so a rule the
        user deleted stays deleted.
        """


class CatalogDocumentStore(Coordinated, Protocol):
    def catalog_documents(self) -> list[dict[str, Any]]:
        """Catalogs sent over the admin API since the last reset, oldest first."""

    def catalog_set(self, documents: Sequence[dict[str, Any]]) -> None:
        """Replace the catalog documents with ``documents`` (oldest first), in one write.

        :class:`broker.catalog.source.CatalogSource` decides which to keep: the one
        being served and those that still define plans of existing instances.
        """


class DeletedIdStore(Protocol):
    """Deleted instance and binding ids by kind, newest last (:mod:`broker.storage.deleted_ids`).

    Besides these methods, :meth:`StateRecords.apply` remembers the id of the delete
    the current request announced (:func:`~broker.storage.deleted_ids.expect_delete`)
    in the same write as the delete.
    """

    def remember_deleted(self, kind: str, resource_id: str) -> Remembered:
        """Remember ``resource_id`` as the newest deleted id of its kind, until settled."""

    def settle_deleted(self, remembered: Remembered, keep: int, stands: bool) -> None:
        """Let ``remembered`` stand (the oldest ids beyond ``keep`` are dropped, maybe in
        a batch later), or take it back (``stands`` False): the id is where it was before."""

    def take_deleted(self, kind: str, resource_id: str, keep: int) -> bool:
        """Forget ``resource_id`` as deleted; True if it was among the newest ``keep``
        deleted ids of its kind (for one caller: the others get False)."""

    def clear_deleted(self) -> None:
        """Forget every deleted id (:meth:`Store.reset` does too)."""


@runtime_checkable
class Store(StateStore, JournalStore, FaultStore, CatalogDocumentStore, DeletedIdStore, Protocol):
    """Everything a store keeps, and its lifecycle."""

    url: str

    def check(self) -> None:
        """Raise :class:`~broker.storage.base.StoreUnavailable` if the store cannot serve."""

    def close(self) -> None: ...

    def reset(self, keep_journal: bool = False) -> None:
        """Forget all state, deleted ids, fault rules and catalog documents (and the
        journal)."""
