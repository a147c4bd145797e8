"""Per-key mutexes without a lock object per key.

Keys hash onto a fixed number of stripes, so memory stays constant however many
instances exist; two keys sharing a stripe merely wait for each other briefly.
A key is ``"<namespace>:<id>"`` and every namespace has its own stripes, so a
caller may hold an ``instance:`` lock and then take a ``binding:`` lock without
ever deadlocking on a shared stripe (always in that order).
:class:`StripedLocks` works inside one process; :class:`StripedFileLocks` adds
``flock(2)`` on one file per stripe so several processes sharing a SQLite file
exclude each other too. A killed process releases its file locks with its file
descriptors, so a crash never leaves a resource locked.
"""

from __future__ import annotations

import fcntl
import os
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["StripedFileLocks", "StripedLocks"]

STRIPES = 64


NAMESPACES = ("instance", "binding", "admin")


def stripe_of(key: str, stripes: int = STRIPES) -> tuple[int, int]:
    """``(namespace index, stripe index)`` of a ``namespace:id`` key."""
    namespace, _, rest = key.partition(":")
    try:
        space = NAMESPACES.index(namespace)
    except ValueError:
        raise ValueError(f"lock key {key!r} must start with one of {NAMESPACES}") from None
    return space, zlib.crc32(rest.encode()) % stripes


class StripedLocks:
    def __init__(self, stripes: int = STRIPES) -> None:
        self._stripes = stripes
        self._locks = [[threading.Lock() for _ in range(stripes)] for _ in NAMESPACES]

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        space, stripe = stripe_of(key, self._stripes)
        with self._locks[space][stripe]:
            yield


class StripedFileLocks:
    def __init__(self, directory: Path, stripes: int = STRIPES) -> None:
        self._threads = StripedLocks(stripes)
        self._stripes = stripes
        directory.mkdir(parents=True, exist_ok=True)
        self._paths = [
            [directory / f"{namespace}-{index:02d}.lock" for index in range(stripes)]
            for namespace in NAMESPACES
        ]
        for paths in self._paths:
            for path in paths:
                path.touch(exist_ok=True)

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        # The thread lock first: flock would also exclude threads (each holds its own
        # open file description), but queueing on a thread lock is cheaper.
        with self._threads.hold(key):
            space, stripe = stripe_of(key, self._stripes)
            fd = os.open(self._paths[space][stripe], os.O_RDWR)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)
