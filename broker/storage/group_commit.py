"""Group commit: the writes of many threads in one SQLite transaction, one disk sync.

SQLite lets one writer in at a time, and with ``synchronous=FULL`` every COMMIT
also waits for the disk (milliseconds on most disks). Threads that want to write while a
commit is under way queue up here; when it ends, one of them (the leader) runs every
queued write in one transaction, each inside its own savepoint, and commits once.

* Durability is unchanged: a caller returns only after the COMMIT that contains its
  write, so nothing is acknowledged before it is committed (on disk with FULL).
* Atomicity is unchanged: a write that raises is rolled back to its savepoint (the
  others in the batch stay) and the exception is raised in the caller's thread.
* Processes: the leader holds an exclusive ``flock`` on a file next to the database
  while it writes. Other processes' leaders sleep on that kernel lock and are woken
  the moment it is free, instead of polling in SQLite's busy handler, whose sleeps
  grow to 100 ms; their own followers queue up meanwhile, so batches grow with load.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, Generic, TypeVar

from broker.storage.sql.database import Statement, Written

__all__ = ["GroupCommit", "PerProcess"]

T = TypeVar("T")
Work = Callable[[sqlite3.Connection], T]


class PerProcess:
    """A callable answering one connection per process: opened on first use, and
    again in a forked child (which must not use its parent's)."""

    def __init__(self, open_connection: Callable[[], sqlite3.Connection]) -> None:
        self._open = open_connection
        self._mutex = threading.Lock()
        self._pid: int | None = None
        self._connection: sqlite3.Connection | None = None

    def __call__(self) -> sqlite3.Connection:
        if self._pid != os.getpid():
            with self._mutex:
                if self._pid != os.getpid():
                    self._connection = self._open()
                    self._pid = os.getpid()
        assert self._connection is not None
        return self._connection

    def close(self) -> None:
        with self._mutex:
            if self._pid == os.getpid() and self._connection is not None:
                self._connection.close()
            self._pid = self._connection = None


def _execute_all(statements: Sequence[Statement], db: sqlite3.Connection) -> Written:
    *first, (last, parameters) = statements
    for statement, earlier in first:
        db.execute(statement, earlier)
    return _execute_one(last, parameters, db)


def _execute_one(statement: str, parameters: Sequence[Any], db: sqlite3.Connection) -> Written:
    cursor = db.execute(statement, parameters)
    rows = cursor.fetchall()  # to the end: a statement still running cannot commit
    return Written(cursor.rowcount, rows[0] if rows else None)


class _Ticket(Generic[T]):
    __slots__ = ("work", "done", "value", "error")

    def __init__(self, work: Work[T]) -> None:
        self.work = work
        self.done = False
        self.value: T | None = None
        self.error: BaseException | None = None


class GroupCommit:
    """Serialises the write transactions of one database, batching concurrent ones."""

    def __init__(
        self,
        connection: Callable[[], sqlite3.Connection],
        lock_path: Path,
        failure: Callable[[sqlite3.Error], BaseException | None] | None = None,
    ) -> None:
        """``failure`` may name the exception to raise instead of an SQLite error
        (``None``: the error itself)."""
        self._connection = connection
        self._lock_path = lock_path
        self._failure = failure
        self._condition = threading.Condition()
        self._queue: list[_Ticket[Any]] = []
        self._leading = False
        self._lock_fd: int | None = None
        self._lock_pid: int | None = None

    def run(self, work: Work[T]) -> T:
        """Run ``work(connection)`` in a committed transaction and return its result."""
        # Written out rather than as a context manager: this is every write's path, and
        # a generator-based one costs as much as the bookkeeping itself.
        ticket: _Ticket[T] = _Ticket(work)
        condition = self._condition
        with condition:
            self._queue.append(ticket)
            while self._leading and not ticket.done:
                condition.wait()
            if ticket.done:
                batch = None
            else:
                self._leading = True
                batch, self._queue = self._queue, []
        if batch is not None:
            try:
                self._commit(batch)
            finally:
                with condition:
                    self._leading = False
                    # Should a batch be left unfinished, it goes back to the next leader.
                    unfinished = [item for item in batch if not item.done]
                    if unfinished:
                        self._queue[:0] = unfinished
                    condition.notify_all()
        if ticket.error is not None:
            error = ticket.error
            if self._failure is not None and isinstance(error, sqlite3.Error):
                replacement = self._failure(error)
                if replacement is not None:
                    raise replacement from error
            raise error
        return ticket.value  # type: ignore[return-value]

    def write_all(self, statements: Sequence[Statement]) -> Written:
        """Run every statement in one committed transaction (see :meth:`run`); what the
        last one changed and returned."""
        # The statements run in this module (partial, not a lambda): the write path
        # stays in one file.
        return self.run(partial(_execute_all, statements))

    def write(self, statement: str, parameters: Sequence[Any] = ()) -> Written:
        """Run one statement in a committed transaction; what it changed and returned."""
        return self.run(partial(_execute_one, statement, parameters))

    @contextmanager
    def exclusive(self) -> Iterator[sqlite3.Connection]:
        """One transaction of the calling thread's own, serialised with the batches."""
        with self._turn(), self._process_lock():
            db = self._connection()
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    @contextmanager
    def _turn(self) -> Iterator[None]:
        """Lead alone: wait for the batch under way; queued writes wait for the next leader."""
        with self._condition:
            while self._leading:
                self._condition.wait()
            self._leading = True
        try:
            yield
        finally:
            with self._condition:
                self._leading = False
                self._condition.notify_all()

    def _commit(self, batch: list[_Ticket[Any]]) -> None:
        db = self._connection()
        fd = self._lock_descriptor()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                db.execute("BEGIN IMMEDIATE")
                if len(batch) == 1:
                    batch[0].value = batch[0].work(db)
                else:
                    for ticket in batch:
                        db.execute("SAVEPOINT batched_write")
                        try:
                            ticket.value = ticket.work(db)
                        except Exception as exc:
                            db.execute("ROLLBACK TO batched_write")
                            ticket.error = exc
                        db.execute("RELEASE batched_write")
                db.execute("COMMIT")
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        except BaseException as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            for ticket in batch:
                if ticket.error is None:
                    ticket.error = exc
                    ticket.value = None
        finally:
            for ticket in batch:
                ticket.done = True

    def _lock_descriptor(self) -> int:
        # One descriptor per process: a forked child must not share the parent's
        # open file description (flock belongs to it) and so opens its own.
        if self._lock_pid != os.getpid():
            self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            self._lock_pid = os.getpid()
        fd = self._lock_fd
        assert fd is not None
        return fd

    @contextmanager
    def _process_lock(self) -> Iterator[None]:
        fd = self._lock_descriptor()
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
