"""Deleted ids: the instance and binding ids the platform deleted, kept with the state
for the platform checks' ``id-reuse`` rule.

Each kind (``instance``, ``binding``) is an ordered memory of ids: remembering one
makes it the newest (a re-deleted id moves), and only the newest ``keep`` count (the
caller's bound; the oldest are forgotten first, in small batches for the SQL stores,
never answered once out of the bound).

Remembering costs nothing of its own on a request's path: a request announces the
delete it makes (:func:`expect_delete`), and when the store applies that
:class:`~broker.storage.base.Delete` it remembers the id in the same write, in the
same transaction. What it did is kept as a :class:`Remembered` on the announcement,
so that the checks, once they know the answer, either let it stand or take it back
(:meth:`~broker.storage.protocols.DeletedIdStore.settle_deleted`): the id counts as
deleted only if the platform was told so.

The announcement lives in a context variable: one per request, on the thread (or
task) that handles the request, which is where the broker applies its changes.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import NamedTuple

__all__ = [
    "DELETED_KINDS",
    "EXPECTED_DELETE",
    "TRIM_EVERY",
    "ExpectedDelete",
    "Remembered",
    "end_expected_delete",
    "expect_delete",
]

# The kinds of deleted ids remembered (each kept to its own bound).
DELETED_KINDS = ("instance", "binding")
# Stores that number deleted ids drop those out of the bound every this many ids:
# one range delete per batch instead of one row per delete.
TRIM_EVERY = 64


class Remembered(NamedTuple):
    """One id remembered as deleted: its place, and the place it held before (if it was
    remembered already), so that it can be taken back exactly."""

    kind: str
    id: str
    seq: int
    prior: int | None


@dataclass
class ExpectedDelete:
    """A delete a request announced; ``remembered`` is set by the store that applied it."""

    kind: str
    id: str
    remembered: Remembered | None = None


# The delete the current request announced, if any: what the stores look at (its
# ``get``, without a call into this module on every write's path).
EXPECTED_DELETE: ContextVar[ExpectedDelete | None] = ContextVar("expected_delete", default=None)


def expect_delete(kind: str, resource_id: str) -> ExpectedDelete:
    """Announce that the current request deletes ``kind`` ``resource_id``: the store that
    applies that delete remembers the id with it. Ended by :func:`end_expected_delete`."""
    expected = ExpectedDelete(kind, resource_id)
    EXPECTED_DELETE.set(expected)
    return expected


def end_expected_delete() -> ExpectedDelete | None:
    """End the current request's announcement, and answer it (None if there was none)."""
    expected = EXPECTED_DELETE.get()
    if expected is not None:
        EXPECTED_DELETE.set(None)
    return expected
