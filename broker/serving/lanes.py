"""Thread pools ("lanes") that run complete requests, one lane per kind of traffic.

A lane runs at most ``size`` requests at once. A request that is about to wait a
long time without using the CPU (a fault rule's delay or hang, an admin long-poll)
steps aside with :meth:`Lane.waiting`: while it waits it does not count against
``size``, so it does not hold up the requests queued behind it. Up to
``max_waiting`` requests may step aside at once; beyond that one simply keeps its
place (the lane is then no worse than a plain thread pool). Threads are started
when first needed, never more than the places plus the requests stepped aside, and
then kept.

:func:`lane_for` picks the lane from the request path before any thread is
involved: ``/livez`` and ``/readyz`` have a lane of their own, the admin API,
dashboard, metrics and OpenAPI document share another, and everything else (the
OSB API) has the largest. So however busy the OSB API is, health checks and the
admin API find a free thread.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["CONTROL", "HEALTH", "OSB", "Lane", "lane_for"]

OSB = "osb"
CONTROL = "control"
HEALTH = "health"

HEALTH_PATHS = frozenset({b"/livez", b"/readyz"})
CONTROL_PREFIXES = (b"/admin", b"/dashboard", b"/metrics", b"/openapi.json")


def lane_for(path: bytes) -> str:
    """The lane of a request for ``path`` (the request-target's path, without query)."""
    if path in HEALTH_PATHS:
        return HEALTH
    if path.startswith(CONTROL_PREFIXES):
        return CONTROL
    return OSB


Task = Callable[[], None]


class Lane:
    def __init__(self, name: str, size: int, max_waiting: int) -> None:
        self.name = name
        self.size = size
        self.max_waiting = max_waiting
        self._cond = threading.Condition(threading.Lock())
        self._tasks: deque[Task] = deque()
        self._running = 0  # tasks holding one of the ``size`` places
        self._waiting = 0  # tasks that stepped aside
        self._threads = 0
        self._idle = 0
        self._stopping = False

    @property
    def busy(self) -> int:
        """Requests queued or being served (waiting ones included)."""
        with self._cond:
            return len(self._tasks) + self._running + self._waiting

    def submit(self, task: Task) -> None:
        with self._cond:
            self._tasks.append(task)
            self._wake()

    def _wake(self) -> None:
        """Hand the queue to a thread if a place is free (the lock is held)."""
        if not self._tasks or self._running >= self.size:
            return
        if self._idle:
            self._cond.notify()
        elif self._threads < self.size + self._waiting:
            # No more threads than places plus requests stepped aside: a thread that
            # is finishing a request takes the next one itself.
            self._threads += 1
            threading.Thread(
                target=self._work, name=f"{self.name}-{self._threads}", daemon=True
            ).start()

    def _work(self) -> None:
        cond = self._cond
        while True:
            with cond:
                while not self._stopping and (not self._tasks or self._running >= self.size):
                    self._idle += 1
                    cond.wait()
                    self._idle -= 1
                if self._stopping:
                    self._threads -= 1
                    return
                task = self._tasks.popleft()
                self._running += 1
                # Several tasks queued and more places free: another thread takes the next.
                self._wake()
            try:
                task()
            finally:
                with cond:
                    self._running -= 1  # this thread takes the next task itself

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """Free this request's place for the duration of a long, idle wait."""
        with self._cond:
            stepped_aside = self._waiting < self.max_waiting
            if stepped_aside:
                self._waiting += 1
                self._running -= 1
                self._wake()
        try:
            yield
        finally:
            if stepped_aside:
                with self._cond:
                    self._waiting -= 1
                    # Back in at once, even above ``size`` for a moment: the request
                    # has already waited, and finishing it frees the place.
                    self._running += 1

    def stop(self) -> None:
        """Let idle threads end; running tasks finish on their own."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
