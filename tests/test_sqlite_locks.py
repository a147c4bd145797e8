"""The SQLite store's per-key locks exclude other processes, forked ones included."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

from broker.storage.sqlite import SQLiteStore

HOLD_SECONDS = 0.5


def hold_in_child(url: str, held: object, released: object) -> None:
    store = SQLiteStore(url)
    with store.lock("instance:shared"):
        held.set()  # type: ignore[attr-defined]
        time.sleep(HOLD_SECONDS)
        released.value = time.monotonic()  # type: ignore[attr-defined]


def hold_in_child_with_inherited_store(store: SQLiteStore, held: object, released: object) -> None:
    with store.lock("instance:shared"):
        held.set()  # type: ignore[attr-defined]
        time.sleep(HOLD_SECONDS)
        released.value = time.monotonic()  # type: ignore[attr-defined]


def test_a_lock_held_by_a_forked_process_blocks_the_parent_that_used_it_before(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(f"sqlite:///{tmp_path / 'broker.db'}")
    # The parent has used the stripe (its descriptor is open) before the fork.
    with store.lock("instance:shared"):
        pass
    context = multiprocessing.get_context("fork")
    held, released = context.Event(), context.Value("d", 0.0)
    child = context.Process(target=hold_in_child_with_inherited_store, args=(store, held, released))
    child.start()
    assert held.wait(10)
    with store.lock("instance:shared"):
        acquired = time.monotonic()
    child.join(10)
    assert child.exitcode == 0
    assert acquired >= released.value > 0


def test_a_lock_held_by_another_process_blocks_until_it_is_released(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'broker.db'}"
    store = SQLiteStore(url)
    for _ in range(3):  # descriptors are kept between holds
        with store.lock("instance:shared"):
            pass
    context = multiprocessing.get_context("spawn")
    held, released = context.Event(), context.Value("d", 0.0)
    child = context.Process(target=hold_in_child, args=(url, held, released))
    child.start()
    assert held.wait(30)
    with store.lock("instance:shared"):
        acquired = time.monotonic()
    child.join(30)
    assert child.exitcode == 0
    assert acquired >= released.value > 0
