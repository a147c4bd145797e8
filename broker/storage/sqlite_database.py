"""One SQLite file as the SQL parts use it (:class:`broker.storage.sql.Database`).

Reads use one connection per thread and process (re-opened after a fork). Every
write runs on one write connection per process, group-committed
(:mod:`broker.storage.group_commit`): a connection discards its page cache
whenever another connection has written since its last transaction, so one writer
per process keeps its pages, and the threads' reading connections are not
invalidated by their own writes.

A full disk is :class:`~broker.storage.base.StoreUnavailable` (nothing
half-written: the transaction rolls back).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from broker.storage.base import StoreUnavailable
from broker.storage.group_commit import GroupCommit, PerProcess
from broker.storage.sql import SQLITE, Dialect

__all__ = ["SQLiteDatabase", "free_space", "is_disk_full", "use_wal"]

Opener = Callable[[bool], sqlite3.Connection]


def is_disk_full(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF == sqlite3.SQLITE_FULL
    return "disk is full" in str(exc)


def free_space(folder: Path) -> str:
    try:
        found = os.statvfs(folder)
    except OSError as exc:
        return f"free space unknown: {exc.strerror}"
    return f"{found.f_bavail * found.f_frsize} bytes free"


def use_wal(connection: sqlite3.Connection, timeout: float) -> None:
    """Switch to WAL, waiting while another process switches the same file."""
    # Switching a file to WAL needs an exclusive lock, and SQLite reports "database is
    # locked" at once, without waiting, while another process is switching it too:
    # that is every gunicorn worker opening a new store at the same moment.
    deadline = time.monotonic() + timeout
    while True:
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


class SQLiteDatabase:
    """Reads on the thread's connection, writes group-committed on the process's one."""

    dialect: Dialect = SQLITE

    def __init__(self, path: Path, open_connection: Opener, writer_lock: Path) -> None:
        """``open_connection(shared)`` opens a connection to ``path`` (``shared``: usable
        by any thread, for the writer); ``writer_lock`` is the group commit's lock file."""
        self.path = path
        self._open = open_connection
        self._local = threading.local()
        self._writer = PerProcess(lambda: open_connection(True))
        self._writes = GroupCommit(self._writer, writer_lock, self._failure)
        # The group commit's own methods: a write goes from the part straight to it.
        self.write_all = self._writes.write_all
        self.write = self._writes.write
        self.run = self._writes.run

    def reader(self) -> sqlite3.Connection:
        """The calling thread's reading connection."""
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            local.connection = self._open(False)
            local.pid = os.getpid()
        connection: sqlite3.Connection = local.connection
        return connection

    def rows(self, statement: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.reader().execute(statement, parameters).fetchall()

    def row(self, statement: str, parameters: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        found: tuple[Any, ...] | None = self.reader().execute(statement, parameters).fetchone()
        return found

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction of the calling thread, in turn with the group commits."""
        try:
            with self._writes.exclusive() as db:
                yield db
        except sqlite3.Error as exc:
            failure = self._failure(exc)
            if failure is None:
                raise
            raise failure from exc

    def disk_full(self) -> StoreUnavailable:
        return StoreUnavailable(
            f"SQLite store {self.path}: the disk is full ({free_space(self.path.parent)})"
        )

    def _failure(self, exc: sqlite3.Error) -> StoreUnavailable | None:
        return self.disk_full() if is_disk_full(exc) else None

    def close(self) -> None:
        local = self._local
        if getattr(local, "pid", None) == os.getpid():
            local.connection.close()
        local.pid = None
        self._writer.close()
