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

    def mutex(self, space: int, stripe: int) -> threading.Lock:
        return self._locks[space][stripe]

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        space, stripe = stripe_of(key, self._stripes)
        with self._locks[space][stripe]:
            yield


class StripedFileLocks:
    def __init__(self, directory: Path, stripes: int = STRIPES) -> None:
        self._threads = StripedLocks(stripes)
        self._stripes = stripes
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._paths = [
            [directory / f"{namespace}-{index:02d}.lock" for index in range(stripes)]
            for namespace in NAMESPACES
        ]
        # Each stripe's file is created when first used: creating all 192 up front cost
        # a new data dir 0.1-0.3 s of start-up. One descriptor per stripe and process,
        # opened on first use and kept: a forked child must not share its parent's
        # (flock belongs to the open file description, so parent and child would not
        # exclude each other).
        self._pid: int | None = None
        self._fds: dict[tuple[int, int], int] = {}
        self._opening = threading.Lock()

    def __del__(self) -> None:
        fds = getattr(self, "_fds", {})
        if getattr(self, "_pid", None) == os.getpid():
            for fd in fds.values():
                os.close(fd)

    def _fd(self, space: int, stripe: int) -> int:
        if self._pid != os.getpid():
            with self._opening:
                if self._pid != os.getpid():
                    for fd in self._fds.values():  # the parent's, inherited by the fork
                        os.close(fd)
                    self._fds = {}
                    self._pid = os.getpid()
        known = self._fds.get((space, stripe))
        if known is not None:
            return known
        with self._opening:
            opened = self._fds.get((space, stripe))
            if opened is None:
                opened = os.open(
                    self._paths[space][stripe], os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600
                )
                self._fds[(space, stripe)] = opened
            return opened

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        # The thread lock first: it makes this process's holder of the stripe the only
        # user of the stripe's descriptor, and flock then excludes other processes.
        space, stripe = stripe_of(key, self._stripes)
        with self._threads.mutex(space, stripe):
            fd = self._fd(space, stripe)
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
