"""Stores made of parts: each method of the contract is answered by one part.

A store class declares every method of the contract, each forwarding to the part
that answers it, so the class reads (and type-checks) as the whole contract and a
subclass may override a method and call ``super()``. :func:`lend` then sets the
part's own bound method on the store instance wherever the class only forwards:
a call goes straight to the part, without the forwarding call in between (every
request passes through ``get_instance``, ``lock`` and ``apply``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["CATALOGS", "DELETED", "FAULTS", "JOURNAL", "STATE", "lend", "methods_of"]

# The contract's methods by the part that answers them.
STATE = (
    "get_instance",
    "get_binding",
    "get_operation",
    "latest_operation",
    "bindings_of",
    "apply",
    "list_instances",
    "list_bindings",
    "list_operations",
    "prune_operations",
    "counts",
)
DELETED = ("remember_deleted", "settle_deleted", "take_deleted", "clear_deleted")
FAULTS = (
    "fault_add",
    "fault_list",
    "fault_delete",
    "fault_delete_all",
    "fault_hit",
    "fault_fired",
    "fault_seed",
)
CATALOGS = ("catalog_documents", "catalog_set")
JOURNAL = ("journal_append", "journal_query", "journal_clear")


def methods_of(part: object, names: Iterable[str]) -> dict[str, Callable[..., Any]]:
    """``part``'s bound methods ``names``, by name."""
    return {name: getattr(part, name) for name in names}


def lend(store: object, owner: type, methods: Mapping[str, Callable[..., Any]]) -> None:
    """Set ``methods`` on ``store`` in place of ``owner``'s forwarding methods of the
    same names; a method that a subclass of ``owner`` overrides stays the subclass's."""
    cls = type(store)
    for name, method in methods.items():
        if getattr(cls, name) is getattr(owner, name):
            store.__dict__[name] = method
