"""How long finished operations are remembered.

``last_operation`` answers from operation records, also after the instance or
binding is gone (410 once an asynchronous delete finished), so they cannot be
forgotten at once. They are kept ``operation_retention`` seconds after they finish
(``BROKER_OPERATION_RETENTION``, an hour by default) and then removed, except the
newest operation of an instance or binding that still exists, which
``last_operation`` without an operation id answers from however old it is. Without
this, every deprovisioned instance would leave its operations behind for good.

Removal runs as part of ordinary requests, at most once per
:data:`PRUNE_INTERVAL` (or per retention period, when shorter) in each process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from broker.storage.protocols import StateStore

__all__ = ["PRUNE_INTERVAL", "OperationRetention"]

log = logging.getLogger("broker.retention")

PRUNE_INTERVAL = 60.0


class OperationRetention:
    def __init__(self, store: StateStore, seconds: float, clock: Callable[[], float]) -> None:
        self.store = store
        self.seconds = seconds
        self.clock = clock
        self._interval = min(PRUNE_INTERVAL, max(seconds, 0.5))
        # When to look next (time.monotonic()); callers test it before calling tidy().
        self.due = time.monotonic() + self._interval
        self._mutex = threading.Lock()

    def tidy(self) -> None:
        """Forget what is past its retention, if the last look was long enough ago."""
        if time.monotonic() < self.due or not self._mutex.acquire(blocking=False):
            return
        try:
            self.due = time.monotonic() + self._interval
            removed = self.store.prune_operations(self.clock() - self.seconds)
            if removed:
                log.info("forgot %d finished operation(s) past their retention", removed)
        except Exception:  # housekeeping must never fail the request that runs it
            log.warning("could not remove finished operations", exc_info=True)
        finally:
            self._mutex.release()
