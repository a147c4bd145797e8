"""``sqlite:///PATH``: the default store, one file shared by every gunicorn worker.

* WAL mode, so readers never wait for the writer; ``synchronous`` is a setting.
  NORMAL, the default, writes every commit to the write-ahead log before the answer
  (the operating system holds it), so an acknowledged change survives a killed broker
  process (``kill -9``) and a restart; the log is synced to disk at checkpoints only,
  so a power loss or an operating system crash may lose the last commits. FULL also
  syncs the log on every commit, for those.
* The store is the SQL parts (:mod:`broker.storage.sql`) over the state file
  (:class:`~broker.storage.sqlite_database.SQLiteDatabase`: reads on one connection
  per thread and process, writes on one per process), and the journal
  (:mod:`broker.storage.segment_journal`) in segment files next to it
  (``broker.journal/``), written by every worker without a database in between.
* Cross-process per-key locks are ``flock(2)`` stripes in ``broker.db.locks/``.
* Writes are group-committed (:mod:`broker.storage.group_commit`): concurrent
  writers share one transaction and one sync, and each returns after its commit.
* Files are private: the folder the store creates is 0700, every database file 0600
  (SQLite gives its ``-wal`` and ``-shm`` files the database file's mode).
* A full disk is :class:`~broker.storage.base.StoreUnavailable` (503, nothing
  half-written: the transaction rolls back), and :meth:`SQLiteStore.check` reports
  the store not ready while less than :data:`MIN_FREE_BYTES` are free. Writing
  resumes by itself once there is room again.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from broker.storage.base import JournalQuery, StoreUnavailable
from broker.storage.parts import JOURNAL, lend, methods_of
from broker.storage.segment_journal import SegmentJournal
from broker.storage.sql import SQLParts
from broker.storage.sqlite_database import SQLiteDatabase, use_wal
from broker.storage.striped_locks import StripedFileLocks

__all__ = ["MIN_FREE_BYTES", "SQLiteStore"]


SCHEMA_VERSION = 1

STATE_SCHEMA = """
CREATE TABLE IF NOT EXISTS instances (
    id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL,
    plan_id TEXT NOT NULL,
    created_at REAL NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS bindings (
    id TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL,
    service_id TEXT NOT NULL,
    plan_id TEXT NOT NULL,
    created_at REAL NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS bindings_by_instance ON bindings (instance_id);
CREATE TABLE IF NOT EXISTS operations (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    instance_id TEXT NOT NULL,
    binding_id TEXT,
    type TEXT NOT NULL,
    state TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS operations_by_owner ON operations (instance_id, binding_id, seq);
CREATE INDEX IF NOT EXISTS operations_by_state ON operations (state, seq);
CREATE INDEX IF NOT EXISTS instances_by_creation ON instances (created_at, id);
CREATE INDEX IF NOT EXISTS bindings_by_creation ON bindings (created_at, id);
CREATE TABLE IF NOT EXISTS faults (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    data TEXT NOT NULL,
    calls INTEGER NOT NULL DEFAULT 0,
    fired INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS catalogs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deleted_instances (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    prior INTEGER
);
CREATE TABLE IF NOT EXISTS deleted_bindings (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    prior INTEGER
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT OR IGNORE INTO meta (key, value) VALUES ('generation', 0);
"""

# Less free space than this on the store's file system: not ready (GET /readyz).
MIN_FREE_BYTES = 1024 * 1024


def _private_file(path: Path) -> None:
    """Create ``path`` if missing, and make it readable by its owner only."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) & 0o077:
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


class SQLiteStore(SQLParts):
    def __init__(self, url: str, synchronous: str = "NORMAL") -> None:
        if not url.startswith("sqlite:///"):
            raise StoreUnavailable(f"not a sqlite:/// URL: {url}")
        self.url = url
        self.path = Path(url[len("sqlite:///") :])
        self.journal_path = self.path.with_name(self.path.stem + ".journal")
        # Where an older version kept the journal: carried over into segments once.
        older_journal = self.path.with_name(self.path.stem + ".journal.db")
        self._synchronous = synchronous
        try:
            # A folder created here holds credentials: its owner's alone.
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            _private_file(self.path)
            for suffix in ("-wal", "-shm"):
                leftover = self.path.with_name(self.path.name + suffix)
                if leftover.exists():
                    _private_file(leftover)
            locks = self.path.with_name(self.path.name + ".locks")
            self._locks = StripedFileLocks(locks)
            self._state_database = SQLiteDatabase(
                self.path,
                self._connect_state,
                locks / "writer-state.lock",
            )
            super().__init__(self._state_database)
            lend(self, SQLiteStore, {"lock": self._locks.hold})
            self._journal = SegmentJournal(self.journal_path)
            lend(self, SQLiteStore, methods_of(self._journal, JOURNAL))
            self._migrate()
            self._journal.adopt(older_journal)
        except (OSError, sqlite3.Error) as exc:
            raise StoreUnavailable(f"cannot open SQLite store {self.path}: {exc}") from exc

    # --- connections ------------------------------------------------------------------
    def _connect(self, path: Path, synchronous: str, shared: bool = False) -> sqlite3.Connection:
        """Every connection of the store is opened here."""
        connection = sqlite3.connect(
            path, timeout=30, isolation_level=None, check_same_thread=not shared
        )
        use_wal(connection, timeout=30)
        connection.execute(f"PRAGMA synchronous={synchronous}")
        connection.execute("PRAGMA busy_timeout=30000")
        return connection

    def _connect_state(self, shared: bool = False) -> sqlite3.Connection:
        return self._connect(self.path, self._synchronous, shared)

    @property
    def _db(self) -> sqlite3.Connection:
        """The calling thread's reading connection to the state."""
        return self._state_database.reader()

    def _migrate(self) -> None:
        with self._state_database.transaction() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreUnavailable(
                    f"{self.path} was written by a newer mockbroker (schema {version})"
                )
            # Statement by statement: executescript() would commit the transaction.
            for statement in STATE_SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    # --- lifecycle --------------------------------------------------------------------
    def check(self) -> None:
        try:
            self._db.execute("SELECT 1").fetchone()
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"SQLite store {self.path}: {exc}") from exc
        try:
            found = os.statvfs(self.path.parent)
        except OSError:
            return
        if found.f_bavail * found.f_frsize < MIN_FREE_BYTES:
            raise self._state_database.disk_full()

    def close(self) -> None:
        self._state_database.close()
        self._journal.close()

    def reset(self, keep_journal: bool = False) -> None:
        with self._state_database.transaction() as db:
            self._clear_parts(db)
        if not keep_journal:
            self.journal_clear()

    def lock(self, key: str) -> AbstractContextManager[None]:
        return self._locks.hold(key)

    # --- journal ----------------------------------------------------------------------
    def journal_append(
        self, entry: dict[str, Any], limit: int, max_bytes: int | None = None
    ) -> int:
        return self._journal.journal_append(entry, limit, max_bytes)

    def journal_query(self, query: JournalQuery) -> list[dict[str, Any]]:
        return self._journal.journal_query(query)

    def journal_clear(self) -> None:
        self._journal.journal_clear()
