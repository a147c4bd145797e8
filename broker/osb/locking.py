"""The lock order every OSB rule follows: the instance first, then the binding."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from broker.storage.protocols import StateStore

__all__ = ["BINDING_LOCK", "INSTANCE_LOCK", "locked"]

# The names of the store locks (``store.lock(INSTANCE_LOCK + instance_id)``). The
# instance rules hold the instance lock alone, as the store gives it; everything that
# also needs a binding's lock goes through ``locked`` to keep the order.
INSTANCE_LOCK = "instance:"
BINDING_LOCK = "binding:"


@contextmanager
def locked(store: StateStore, instance_id: str, binding_id: str | None = None) -> Iterator[None]:
    """Hold the instance's lock and then, for a binding, the binding's.

    Always in that order: the instance lock serialises everything that reads the
    instance's state, the binding lock keeps one binding id from being created
    under two instances at once. Two requests that took them the other way round
    could each wait for the other for ever.
    """
    with store.lock(INSTANCE_LOCK + instance_id):
        if binding_id is None:
            yield
        else:
            with store.lock(BINDING_LOCK + binding_id):
                yield
