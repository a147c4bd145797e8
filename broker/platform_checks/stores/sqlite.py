"""Findings and watches in a SQLite file beside the state file (``sqlite:///`` stores).

A file of its own (``<state>.findings.db``): findings are written at their own pace
and never wait for, or hold up, the state's group commits. Connections are made per
process and thread, like the state store's.

Writers queue on a lock (a mutex per process, ``flock(2)`` on ``<findings>.lock``
between processes) rather than in SQLite's busy handler, whose sleeps of a
millisecond and more would idle a worker's threads under load.

Deleted ids live in a table per kind whose rowid is the order they were deleted in:
remembering one appends it (replacing an older entry of the same id) and drops the
rows that fell out of the bound, a range at the start of the table.
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

from broker.platform_checks.findings_store import (
    DELETED_KINDS,
    TRIM_EVERY,
    FindingsQuery,
    NewFinding,
    merged,
)
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
CREATE TABLE IF NOT EXISTS deleted_instances (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS deleted_bindings (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE);
"""
DELETED_TABLES = {"instance": "deleted_instances", "binding": "deleted_bindings"}
assert set(DELETED_TABLES) == set(DELETED_KINDS)


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
            for table in DELETED_TABLES.values():
                db.execute(f"DELETE FROM {table}")  # noqa: S608 (a fixed table name)

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

    def remember_deleted(
        self,
        kind: str,
        resource_id: str,
        keep: int,
        take: str | None = None,
    ) -> dict[str, Any] | None:
        table = DELETED_TABLES[kind]
        # One statement: the insert also reads whether the watch is there (seldom);
        # only then is it taken (a second statement, so one caller gets it).
        seq, held = self._write(
            lambda db: db.execute(
                f"INSERT OR REPLACE INTO {table} (id) VALUES (?) "  # noqa: S608
                "RETURNING seq, (SELECT 1 FROM watches WHERE key = ?)",
                (resource_id, take),
            ).fetchone(),
            transaction=False,
        )
        if seq > keep and seq % TRIM_EVERY == 0:
            self._write(
                lambda db: db.execute(
                    f"DELETE FROM {table} WHERE seq <= ?",  # noqa: S608
                    (seq - keep,),
                ),
                transaction=False,
            )
        return self.watch_take(take) if take is not None and held else None

    def take_deleted(self, kind: str, resource_id: str, keep: int) -> bool:
        table = DELETED_TABLES[kind]
        # Within the bound: among the newest ``keep`` (rows past it wait for their batch).
        newest = f"seq > (SELECT max(seq) FROM {table}) - ?"
        db = self._connection()
        # Read first: a create seldom reuses an id, and a read costs less than a delete.
        found = db.execute(
            f"SELECT 1 FROM {table} WHERE id = ? AND {newest}",  # noqa: S608
            (resource_id, keep),
        ).fetchone()
        if found is None:
            return False
        taken: int = self._write(
            lambda db: (
                db.execute(
                    f"DELETE FROM {table} WHERE id = ? AND {newest}",  # noqa: S608
                    (resource_id, keep),
                ).rowcount
            ),
            transaction=False,
        )
        return taken > 0

    def close(self) -> None:
        local = self._local
        if getattr(local, "pid", None) == os.getpid():
            local.connection.close()
        local.pid = None
