"""Functions run in other processes (multiprocessing) against one store URL.

They live in an importable module so the ``spawn`` start method can find them.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from broker.storage import open_store


def count_under_lock(url: str, key: str, counter: str, rounds: int) -> None:
    """Read-modify-write a counter file ``rounds`` times, each under ``lock(key)``."""
    store = open_store(url)
    path = Path(counter)
    try:
        for _ in range(rounds):
            with store.lock(key):
                value = int(path.read_text() or "0")
                time.sleep(0.002)  # widen the window a missing lock would lose updates in
                path.write_text(str(value + 1))
    finally:
        store.close()


def hold_lock_forever(url: str, key: str, holding: Any) -> None:
    """Take ``lock(key)``, set the ``holding`` event, and wait to be killed."""
    store = open_store(url)
    with store.lock(key):
        holding.set()
        while True:
            time.sleep(1)


def hit_fault(url: str, rule_id: str, times: int, results: Any) -> None:
    """Count ``times`` calls of a rule; put the list of returned counts on ``results``."""
    store = open_store(url)
    try:
        results.put([store.fault_hit(rule_id) for _ in range(times)])
    finally:
        store.close()
