"""One PostgreSQL schema as the SQL parts use it (:class:`broker.storage.sql.Database`).

* Connections: one per thread and process, in autocommit mode; a multi-statement
  write is one transaction. A process forked after connections were opened (a
  gunicorn worker, a multiprocessing child) opens its own and never touches the
  inherited ones: closing them would end the parent's sessions.
* JSON columns are read as text, as SQLite answers them: the shared SQL decodes them.
* :meth:`PostgresDatabase.lock` is a session-level advisory lock in the two-int form
  (namespace, hash of schema and id). The server releases it when the session
  ends, so a killed process never leaves a resource locked. If the connection of
  a thread that holds locks breaks, the database refuses to reconnect that thread
  until the locks are released: no write ever happens without the lock it needs.
"""

from __future__ import annotations

import os
import threading
import weakref
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any

import psycopg
from psycopg.types.string import TextLoader

from broker.storage.base import StoreUnavailable
from broker.storage.sql import POSTGRES, Dialect, Statement, Written
from broker.storage.striped_locks import NAMESPACES

__all__ = ["LOCK_BASE", "PostgresDatabase", "int32"]

# Advisory lock namespaces (the first int of the two-int form): "mb" in the high
# bytes keeps them apart from other applications' locks on the same database.
LOCK_BASE = 0x6D62_0000

# Connections inherited through fork(): never used and never closed in the child
# (closing would end the parent's session), only kept referenced so that their
# finalizer does not complain about an unclosed connection.
_INHERITED: list[psycopg.Connection[Any]] = []


def int32(value: int) -> int:
    return value - (1 << 32) if value >= 1 << 31 else value


def lock_ints(schema: str, key: str) -> tuple[int, int]:
    """The advisory lock (namespace, number) of a ``namespace:id`` key in ``schema``."""
    namespace, separator, rest = key.partition(":")
    if not separator or namespace not in NAMESPACES:
        raise ValueError(f"lock key {key!r} must start with one of {NAMESPACES}")
    return LOCK_BASE + NAMESPACES.index(namespace), int32(zlib.crc32(f"{schema}:{rest}".encode()))


def _renew_mutex(database: weakref.ref[PostgresDatabase]) -> None:
    found = database()
    if found is not None:
        found._registry_mutex = threading.Lock()


class _ThreadSession:
    """The connection of one thread, and how many advisory locks it holds."""

    __slots__ = ("connection", "held", "pid", "reads", "thread")

    def __init__(self) -> None:
        self.pid: int | None = None
        self.connection: psycopg.Connection[Any] | None = None
        # The cursor reads run on, kept with its connection: a new cursor per read
        # cost about a third of the CPU of the per-request generation read.
        self.reads: psycopg.Cursor[Any] | None = None
        self.held = 0
        self.thread: weakref.ref[threading.Thread] | None = None


class PostgresDatabase:
    dialect: Dialect = POSTGRES

    def __init__(self, libpq_url: str, schema: str, shown_url: str) -> None:
        self._libpq_url = libpq_url
        self.schema = schema
        self._shown_url = shown_url
        self._local = threading.local()
        self._registry_mutex = threading.Lock()
        self._sessions: list[_ThreadSession] = []
        self._registry_pid = os.getpid()
        # A fork while another thread registers a session would leave the mutex held
        # in the child forever; the child starts with a fresh one instead.
        os.register_at_fork(after_in_child=partial(_renew_mutex, weakref.ref(self)))

    def describe(self, exc: BaseException) -> str:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        return f"PostgreSQL store {self._shown_url} (schema {self.schema}): {reason}"

    # --- connections ------------------------------------------------------------------
    def _connect(self) -> psycopg.Connection[Any]:
        parsed = psycopg.conninfo.conninfo_to_dict(self._libpq_url)
        options = str(parsed.get("options") or "")
        extra: dict[str, Any] = {
            "autocommit": True,
            "options": f"{options} -c search_path={self.schema}".strip(),
        }
        if "application_name" not in parsed:
            extra["application_name"] = "mockbroker"
        if "connect_timeout" not in parsed:
            extra["connect_timeout"] = 10
        try:
            connection = psycopg.connect(self._libpq_url, **extra)
        except psycopg.Error as exc:
            raise StoreUnavailable(self.describe(exc)) from exc
        connection.adapters.register_loader("json", TextLoader)
        return connection

    def _session(self) -> _ThreadSession:
        session: _ThreadSession | None = getattr(self._local, "session", None)
        pid = os.getpid()
        if session is None or session.pid != pid:
            session = _ThreadSession()
            session.pid = pid
            session.thread = weakref.ref(threading.current_thread())
            self._local.session = session
            self._register(session)
        return session

    def _register(self, session: _ThreadSession) -> None:
        with self._registry_mutex:
            if self._registry_pid != os.getpid():
                # A forked child: the parent's connections are not ours to use or close.
                _INHERITED.extend(s.connection for s in self._sessions if s.connection)
                self._sessions = []
                self._registry_pid = os.getpid()
            alive = []
            for known in self._sessions:
                thread = known.thread() if known.thread else None
                if thread is not None and thread.is_alive():
                    alive.append(known)
                elif known.connection is not None:
                    # Its thread is gone, so nothing uses it any more: close it here.
                    known.connection.close()
            alive.append(session)
            self._sessions = alive

    def _connection(self) -> psycopg.Connection[Any]:
        session = self._session()
        connection = session.connection
        if connection is not None and not connection.closed:
            return connection
        if connection is not None and session.held:
            raise StoreUnavailable(
                self.describe(RuntimeError("the connection holding a lock was lost"))
            )
        session.connection = self._connect()
        return session.connection

    @contextmanager
    def session(self) -> Iterator[psycopg.Connection[Any]]:
        """This thread's connection; a lost connection or schema becomes StoreUnavailable."""
        connection = self._connection()
        try:
            yield connection
        except psycopg.OperationalError as exc:
            raise StoreUnavailable(self.describe(exc)) from exc
        except (psycopg.errors.UndefinedTable, psycopg.errors.InvalidSchemaName) as exc:
            raise StoreUnavailable(
                self.describe(RuntimeError("the broker's tables are missing (schema dropped?)"))
            ) from exc

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection[Any]]:
        with self.session() as db, db.transaction():
            yield db

    # --- the SQL parts' reads and writes ----------------------------------------------
    def _read(self, statement: str, parameters: Sequence[Any], many: bool) -> Any:
        # A read may run again on a fresh connection when the server dropped the old
        # one (restart, idle timeout): the first request after an outage succeeds.
        for attempt in (1, 2):
            try:
                with self.session() as db:
                    session: _ThreadSession = self._local.session
                    cursor = session.reads
                    if cursor is None or cursor.connection is not db:
                        cursor = session.reads = db.cursor()
                    cursor.execute(statement, parameters or None)
                    return cursor.fetchall() if many else cursor.fetchone()
            except StoreUnavailable:
                if attempt == 2 or not self._may_reconnect():
                    raise
        raise AssertionError("unreachable")

    def _may_reconnect(self) -> bool:
        session = self._session()
        return not session.held and (session.connection is None or session.connection.closed)

    def rows(self, statement: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = self._read(statement, parameters, many=True)
        return rows

    def row(self, statement: str, parameters: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self._read(statement, parameters, many=False)
        return row

    def write(self, statement: str, parameters: Sequence[Any] = ()) -> Written:
        # One statement is atomic on its own: no BEGIN/COMMIT round trips. Not a
        # retried read: a lost answer must not apply it twice.
        with self.session() as db:
            cursor = db.execute(statement, parameters or None)
            row = cursor.fetchone() if cursor.description else None
            return Written(cursor.rowcount, row)

    def write_all(self, statements: Sequence[Statement]) -> Written:
        *first, (last, parameters) = statements
        # One statement is atomic on its own: no BEGIN/COMMIT round trips.
        with self.transaction() if first else self.session() as db:
            for statement, earlier in first:
                db.execute(statement, earlier)
            cursor = db.execute(last, parameters)
            return Written(cursor.rowcount, cursor.fetchone() if cursor.description else None)

    # --- locks and lifecycle ----------------------------------------------------------
    @contextmanager
    def lock(self, key: str) -> Iterator[None]:
        space, number = lock_ints(self.schema, key)
        with self.session() as db:
            db.execute("SELECT pg_advisory_lock(%s, %s)", (space, number))
        session = self._session()
        session.held += 1
        try:
            yield
        finally:
            session.held -= 1
            connection = session.connection
            try:
                if connection is not None and not connection.closed:
                    connection.execute("SELECT pg_advisory_unlock(%s, %s)", (space, number))
            except psycopg.Error:
                # Ending the session releases every lock it holds.
                if connection is not None:
                    connection.close()

    def close(self) -> None:
        with self._registry_mutex:
            for session in self._sessions:
                if session.connection is None:
                    continue
                if self._registry_pid == os.getpid():
                    session.connection.close()
                else:  # inherited through fork(): the parent's, not ours to close
                    _INHERITED.append(session.connection)
                session.connection = None
            self._sessions = []
            self._registry_pid = os.getpid()
        self._local = threading.local()
