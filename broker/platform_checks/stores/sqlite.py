"""Findings and watches in a SQLite file beside the state file (``sqlite:///`` stores).

A file of its own (``<state>.findings.db``): findings are written at their own pace
and never wait for, or hold up, the state's group commits. Connections are made per
process and thread, like the state store's.

Writers queue on a lock (a mutex per process, ``flock(2)`` on ``<findings>.lock``
between processes) rather than in SQLite's busy handler, whose sleeps of a
millisecond and more would idle a worker's threads under load.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from broker.platform_checks.findings_store import FindingsQuery, NewFinding, merged
from broker.storage.base import StoreUnavailable

__all__ = ["SQLiteFindings"]

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS findings (
    rule TEXT NOT NULL,
    instance_key TEXT NOT NULL,
    binding_key TEXT NOT NULL,
    first_seen REAL NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (rule, instance_key, binding_key)
);
CREATE TABLE IF NOT EXISTS watches (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    due REAL
);
CREATE INDEX IF NOT EXISTS watches_due ON watches (due) WHERE due IS NOT NULL;
-- Where deleted ids were kept before the state store kept them.
DROP TABLE IF EXISTS deleted_instances;
DROP TABLE IF EXISTS deleted_bindings;
"""


def _dumped(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"))


class SQLiteFindings:
    def __init__(self, state_url: str) -> None:
        state = Path(state_url[len("sqlite:///") :])
        self.path = state.with_name(state.stem + ".findings.db")
        self._local = threading.local()
        self._pid: int | None = None
        self._mutex = threading.Lock()
        self._lock_fd = -1
        try:
            self._connection().executescript(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StoreUnavailable(f"cannot open the findings file {self.path}: {exc}") from exc

    def _connection(self) -> sqlite3.Connection:
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # Private like the state file beside it (ids and what the platform sent).
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
            os.chmod(self.path, 0o600)
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            # Findings are a grade, not state: a commit is not flushed to disk (a
            # process crash loses nothing; a power loss may lose the last ones).
            connection.execute("PRAGMA synchronous=OFF")
            connection.execute("PRAGMA busy_timeout=30000")
            local.connection, local.pid = connection, os.getpid()
        found: sqlite3.Connection = local.connection
        return found

    def _writer_lock(self) -> tuple[threading.Lock, int]:
        """This process's mutex and lock file (made anew in a forked child).

        Two threads making them at once each get their own: harmless, as ``flock``
        also excludes two descriptions of the lock file in one process."""
        if self._pid != os.getpid():
            self._mutex = threading.Lock()
            lock_path = self.path.with_name(self.path.name + ".lock")
            self._lock_fd = os.open(lock_path, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
            self._pid = os.getpid()
        return self._mutex, self._lock_fd

    def _write(self, work: Callable[[sqlite3.Connection], T], transaction: bool = True) -> T:
        """Run ``work`` holding the writer lock: in a transaction of its own, or (one
        statement) in the statement's own."""
        db = self._connection()
        mutex, fd = self._writer_lock()
        with mutex:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                if not transaction:
                    return work(db)
                db.execute("BEGIN IMMEDIATE")
                try:
                    result = work(db)
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        return result

    def record(self, finding: NewFinding) -> bool:
        rule, instance_key, binding_key = finding.key

        def write(db: sqlite3.Connection) -> bool:
            row = db.execute(
                "SELECT data FROM findings WHERE rule = ? AND instance_key = ? AND binding_key = ?",
                (rule, instance_key, binding_key),
            ).fetchone()
            stored = json.loads(row[0]) if row else None
            data = json.dumps(merged(stored, finding), separators=(",", ":"))
            if stored is None:
                db.execute(
                    "INSERT INTO findings VALUES (?, ?, ?, ?, ?)",
                    (rule, instance_key, binding_key, finding.time, data),
                )
            else:
                db.execute(
                    "UPDATE findings SET data = ? "
                    "WHERE rule = ? AND instance_key = ? AND binding_key = ?",
                    (data, rule, instance_key, binding_key),
                )
            return stored is None

        return self._write(write)

    def findings(self, query: FindingsQuery) -> list[dict[str, Any]]:
        sql, args = "SELECT data FROM findings", []
        if query.instance_id is not None:
            sql, args = sql + " WHERE instance_key = ?", [query.instance_id]
        rows = self._connection().execute(sql + " ORDER BY first_seen", args).fetchall()
        return [found for (data,) in rows if query.matches(found := json.loads(data))]

    def clear(self) -> None:
        def write(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM findings")
            db.execute("DELETE FROM watches")

        self._write(write)

    def watch_get(self, key: str) -> dict[str, Any] | None:
        row = self._connection().execute("SELECT value FROM watches WHERE key = ?", (key,))
        found = row.fetchone()
        return json.loads(found[0]) if found else None

    def watch_put(self, key: str, value: dict[str, Any], due: float | None = None) -> None:
        self._write(
            lambda db: db.execute(
                "INSERT OR REPLACE INTO watches VALUES (?, ?, ?)", (key, _dumped(value), due)
            ),
            transaction=False,
        )

    def watch_take(self, key: str) -> dict[str, Any] | None:
        row = self._write(
            lambda db: db.execute(
                "DELETE FROM watches WHERE key = ? RETURNING value", (key,)
            ).fetchone(),
            transaction=False,
        )
        return json.loads(row[0]) if row else None

    def take_due(self, now: float, limit: int = 100) -> list[tuple[str, dict[str, Any]]]:
        # Most looks find nothing due: a read decides whether a write is needed.
        db = self._connection()
        if (
            db.execute(
                "SELECT 1 FROM watches WHERE due IS NOT NULL AND due <= ? LIMIT 1", (now,)
            ).fetchone()
            is None
        ):
            return []
        rows = self._write(
            lambda db: db.execute(
                "DELETE FROM watches WHERE key IN "
                "(SELECT key FROM watches WHERE due IS NOT NULL AND due <= ? ORDER BY due LIMIT ?) "
                "RETURNING key, value",
                (now, limit),
            ).fetchall(),
            transaction=False,
        )
        return [(key, json.loads(value)) for key, value in rows]

    def close(self) -> None:
        local = self._local
        if getattr(local, "pid", None) == os.getpid():
            local.connection.close()
        local.pid = None
