"""The SQLite store's per-key locks exclude other processes, forked ones included."""

from __future__ import annotations

import multiprocessing
import time
from multiprocessing.context import ForkContext, SpawnContext
from pathlib import Path

from broker.storage.sqlite import SQLiteStore

HOLD_SECONDS = 0.5


def hold_in_child(store: SQLiteStore | str, held: object, released: object) -> None:
    """Hold the shared lock for HOLD_SECONDS through ``store`` (inherited, or opened from
    its URL), setting ``held`` once it has it and ``released`` to when it lets go."""
    if isinstance(store, str):
        store = SQLiteStore(store)
    with store.lock("instance:shared"):
        held.set()  # type: ignore[attr-defined]
        time.sleep(HOLD_SECONDS)
        released.value = time.monotonic()  # type: ignore[attr-defined]


def assert_a_child_hold_blocks(
    store: SQLiteStore,
    context: ForkContext | SpawnContext,
    child_store: SQLiteStore | str,
    timeout: float,
) -> None:
    """A child started from ``context`` holds the lock; ``store`` gets it only afterwards."""
    held, released = context.Event(), context.Value("d", 0.0)
    child = context.Process(target=hold_in_child, args=(child_store, held, released))
    child.start()
    assert held.wait(timeout)
    with store.lock("instance:shared"):
        acquired = time.monotonic()
    child.join(timeout)
    assert child.exitcode == 0
    assert acquired >= released.value > 0


def test_a_lock_held_by_a_forked_process_blocks_the_parent_that_used_it_before(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(f"sqlite:///{tmp_path / 'broker.db'}")
    # The parent has used the stripe (its descriptor is open) before the fork.
    with store.lock("instance:shared"):
        pass
    assert_a_child_hold_blocks(store, multiprocessing.get_context("fork"), store, timeout=10)


def test_a_lock_held_by_another_process_blocks_until_it_is_released(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'broker.db'}"
    store = SQLiteStore(url)
    for _ in range(3):  # descriptors are kept between holds
        with store.lock("instance:shared"):
            pass
    assert_a_child_hold_blocks(store, multiprocessing.get_context("spawn"), url, timeout=30)
