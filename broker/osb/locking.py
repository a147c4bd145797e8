"""The lock order every OSB rule follows: the instance first, then the binding."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from broker.storage.protocols import StateStore

__all__ = ["instance_lock", "locked"]


@contextmanager
def locked(store: StateStore, instance_id: str, binding_id: str | None = None) -> Iterator[None]:
    """Hold the instance's lock and then, for a binding, the binding's.

    Always in that order: the instance lock serialises everything that reads the
    instance's state, the binding lock keeps one binding id from being created
    under two instances at once. Two requests that took them the other way round
    could each wait for the other for ever.
    """
    with store.lock(f"instance:{instance_id}"):
        if binding_id is None:
            yield
        else:
            with store.lock(f"binding:{binding_id}"):
                yield


def instance_lock(store: StateStore, instance_id: str) -> AbstractContextManager[None]:
    """The instance's lock alone (``locked(store, instance_id)``), as the store gives it:
    what the instance rules hold."""
    return store.lock(f"instance:{instance_id}")
