"""Waiting out a fault rule's ``delay_ms`` or ``hang``, and ending the wait early.

A wait ends, whichever comes first:

* when its time is up (the delay, or :data:`HANG_LIMIT_SECONDS` for a hang);
* when the client disconnects (checked every :data:`CHECK_EVERY` seconds);
* when its rule is gone: deleted (``DELETE /admin/faults[/<id>]``) or reset
  (``POST /admin/reset``), by any worker or replica. Rules live in the store, so
  one thread per process (running only while something waits) follows the store's
  generation every :data:`WATCH_EVERY` seconds and reads the rules again when it
  changes. A rule counts as gone when its id is missing, or when its call counter
  is below the call that is waiting (the rule was removed and added again).

At most ``limit`` requests of one process wait at once; one more is refused with
:class:`TooManyWaits` rather than held (the web layer answers it 503).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from enum import Enum

from broker.faults.engine import Fired
from broker.storage.protocols import FaultStore

__all__ = [
    "CHECK_EVERY",
    "HANG_LIMIT_SECONDS",
    "WATCH_EVERY",
    "FaultWaits",
    "TooManyWaits",
    "WaitEnd",
]

log = logging.getLogger("broker.faults")

# A hang ends at the latest after this long.
HANG_LIMIT_SECONDS = 600.0
CHECK_EVERY = 0.1
WATCH_EVERY = 0.2


class WaitEnd(Enum):
    ELAPSED = "elapsed"
    RULE_REMOVED = "rule removed"
    CLIENT_GONE = "client gone"


class TooManyWaits(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"{limit} requests already wait in a fault rule's delay or hang")
        self.limit = limit


class _Snapshot:
    """The rules' call counters as read once every waiter up to ``seq`` had begun."""

    __slots__ = ("seq", "calls")

    def __init__(self, seq: int, calls: dict[str, int]) -> None:
        self.seq = seq
        self.calls = calls


class FaultWaits:
    """The waits of one process: counted, capped, and ended early when they should."""

    def __init__(
        self,
        store: FaultStore,
        limit: int,
        *,
        check_every: float = CHECK_EVERY,
        watch_every: float = WATCH_EVERY,
    ) -> None:
        self.store = store
        self.limit = limit
        self.check_every = check_every
        self.watch_every = watch_every
        self._cond = threading.Condition()
        self._waiting = 0
        # Waiters number themselves; a snapshot serves those who began before it was read.
        self._requested = 0
        self._snapshot: _Snapshot | None = None
        self._watcher: threading.Thread | None = None

    @property
    def waiting(self) -> int:
        return self._waiting

    def wait(
        self,
        fired: Fired,
        seconds: float,
        client_gone: Callable[[], bool],
        step_aside: Callable[[], AbstractContextManager[None]] = nullcontext,
    ) -> WaitEnd:
        """Wait up to ``seconds``; why it ended. Raises :class:`TooManyWaits`.

        ``step_aside`` is the server's way of letting other requests have this
        thread's place meanwhile (see :mod:`broker.serving.lanes`).
        """
        with self._cond:
            if self._waiting >= self.limit:
                raise TooManyWaits(self.limit)
            self._waiting += 1
            self._requested += 1
            me = self._requested
            if self._watcher is None:
                self._watcher = threading.Thread(
                    target=self._watch, name="fault-waits", daemon=True
                )
                self._watcher.start()
        try:
            with step_aside():
                return self._wait(fired, me, time.monotonic() + seconds, client_gone)
        finally:
            with self._cond:
                self._waiting -= 1

    def _wait(
        self, fired: Fired, me: int, deadline: float, client_gone: Callable[[], bool]
    ) -> WaitEnd:
        while True:
            if self._removed(fired, me):
                return WaitEnd.RULE_REMOVED
            if client_gone():
                return WaitEnd.CLIENT_GONE
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return WaitEnd.ELAPSED
            with self._cond:
                self._cond.wait(min(remaining, self.check_every))

    def _removed(self, fired: Fired, me: int) -> bool:
        snapshot = self._snapshot
        if snapshot is None or snapshot.seq < me:
            return False  # read before this wait began: it may predate the call
        calls = snapshot.calls.get(fired.rule.id)
        return calls is None or calls < fired.call

    def _watch(self) -> None:
        generation: int | None = None
        read_for = 0
        while True:
            with self._cond:
                if self._waiting == 0:
                    self._watcher = None
                    self._snapshot = None
                    return
                requested = self._requested
            try:
                current = self.store.generation()
                if current != generation or requested != read_for:
                    calls = {rule["id"]: int(rule["calls"]) for rule in self.store.fault_list()}
                    generation, read_for = current, requested
                    with self._cond:
                        self._snapshot = _Snapshot(requested, calls)
                        self._cond.notify_all()
            except Exception:  # the store is unavailable: waits still end by time
                log.warning("cannot follow fault rule changes", exc_info=True)
            time.sleep(self.watch_every)
