"""``sqlite:///PATH``: the default store, one file shared by every gunicorn worker.

* WAL mode, so readers never wait for the writer; ``synchronous`` is a setting
  (FULL by default: every acknowledged change has reached the disk).
* One connection per thread and process (re-opened after a fork).
* The request journal lives in a second file next to the state
  (``broker.journal.db``) with ``synchronous=NORMAL``: recording a request must
  not cost an fsync, and losing the last journal lines on power loss is harmless.
* Cross-process per-key locks are ``flock(2)`` stripes in ``broker.db.locks/``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from broker.storage.base import (
    Change,
    JournalQuery,
    StateCounts,
    StoreUnavailable,
    iter_changes,
)
from broker.storage.records import BindingRecord, InstanceRecord, OperationRecord
from broker.storage.striped_locks import StripedFileLocks

__all__ = ["SQLiteStore"]

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
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT OR IGNORE INTO meta (key, value) VALUES ('generation', 0);
"""

JOURNAL_SCHEMA = """
CREATE TABLE IF NOT EXISTS journal (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    epoch REAL NOT NULL,
    method TEXT,
    operation TEXT,
    instance_id TEXT,
    binding_id TEXT,
    status INTEGER,
    data TEXT NOT NULL
);
"""

JOURNAL_COLUMNS = ("operation", "instance_id", "binding_id", "method", "status")


def _run_script(db: sqlite3.Connection, script: str) -> None:
    # Statement by statement: executescript() would commit the open transaction.
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _use_wal(connection: sqlite3.Connection, timeout: float) -> None:
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


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


class SQLiteStore:
    def __init__(self, url: str, synchronous: str = "FULL") -> None:
        if not url.startswith("sqlite:///"):
            raise StoreUnavailable(f"not a sqlite:/// URL: {url}")
        self.url = url
        self.path = Path(url[len("sqlite:///") :])
        self.journal_path = self.path.with_name(self.path.stem + ".journal.db")
        self._synchronous = synchronous
        self._local = threading.local()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._locks = StripedFileLocks(self.path.with_name(self.path.name + ".locks"))
            self._migrate()
        except (OSError, sqlite3.Error) as exc:
            raise StoreUnavailable(f"cannot open SQLite store {self.path}: {exc}") from exc

    # --- connections ------------------------------------------------------------------
    def _connect(self, path: Path, synchronous: str) -> sqlite3.Connection:
        connection = sqlite3.connect(path, timeout=30, isolation_level=None)
        _use_wal(connection, timeout=30)
        connection.execute(f"PRAGMA synchronous={synchronous}")
        connection.execute("PRAGMA busy_timeout=30000")
        return connection

    def _connections(self) -> tuple[sqlite3.Connection, sqlite3.Connection]:
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            local.pid = os.getpid()
            local.state = self._connect(self.path, self._synchronous)
            local.journal = self._connect(self.journal_path, "NORMAL")
        return local.state, local.journal

    @property
    def _db(self) -> sqlite3.Connection:
        return self._connections()[0]

    @property
    def _journal_db(self) -> sqlite3.Connection:
        return self._connections()[1]

    @contextmanager
    def _write(self, connection: sqlite3.Connection | None = None) -> Iterator[sqlite3.Connection]:
        db = connection or self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _migrate(self) -> None:
        with self._write() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreUnavailable(
                    f"{self.path} was written by a newer mockbroker (schema {version})"
                )
            _run_script(db, STATE_SCHEMA)
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        with self._write(self._journal_db) as journal:
            _run_script(journal, JOURNAL_SCHEMA)

    # --- lifecycle / coordination -----------------------------------------------------
    def check(self) -> None:
        try:
            self._db.execute("SELECT 1").fetchone()
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"SQLite store {self.path}: {exc}") from exc

    def close(self) -> None:
        local = self._local
        if getattr(local, "pid", None) == os.getpid():
            local.state.close()
            local.journal.close()
        local.pid = None

    def lock(self, key: str) -> Any:
        return self._locks.hold(key)

    def generation(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0])

    def _bump_generation(self, db: sqlite3.Connection) -> None:
        db.execute("UPDATE meta SET value = value + 1 WHERE key = 'generation'")

    # --- OSB state --------------------------------------------------------------------
    def _one(self, sql: str, *args: Any) -> dict[str, Any] | None:
        row = self._db.execute(sql, args).fetchone()
        return json.loads(row[0]) if row else None

    def get_instance(self, instance_id: str) -> InstanceRecord | None:
        data = self._one("SELECT data FROM instances WHERE id = ?", instance_id)
        return InstanceRecord.from_dict(data) if data else None

    def get_binding(self, binding_id: str) -> BindingRecord | None:
        data = self._one("SELECT data FROM bindings WHERE id = ?", binding_id)
        return BindingRecord.from_dict(data) if data else None

    def get_operation(self, operation_id: str) -> OperationRecord | None:
        data = self._one("SELECT data FROM operations WHERE id = ?", operation_id)
        return OperationRecord.from_dict(data) if data else None

    def latest_operation(
        self, instance_id: str, binding_id: str | None = None
    ) -> OperationRecord | None:
        data = self._one(
            "SELECT data FROM operations WHERE instance_id = ? AND binding_id IS ? "
            "ORDER BY seq DESC LIMIT 1",
            instance_id,
            binding_id,
        )
        return OperationRecord.from_dict(data) if data else None

    def bindings_of(self, instance_id: str) -> list[BindingRecord]:
        rows = self._db.execute(
            "SELECT data FROM bindings WHERE instance_id = ? ORDER BY id", (instance_id,)
        ).fetchall()
        return [BindingRecord.from_dict(json.loads(row[0])) for row in rows]

    def apply(self, changes: Sequence[Change]) -> None:
        with self._write() as db:
            for kind, record_id, record in iter_changes(changes):
                if record is None:
                    table = {"instance": "instances", "binding": "bindings"}.get(
                        kind, "operations"
                    )
                    db.execute(f"DELETE FROM {table} WHERE id = ?", (record_id,))
                elif isinstance(record, InstanceRecord):
                    db.execute(
                        "INSERT OR REPLACE INTO instances (id, service_id, plan_id, created_at, "
                        "data) VALUES (?, ?, ?, ?, ?)",
                        (record.id, record.service_id, record.plan_id, record.created_at,
                         _dumps(record.to_dict())),
                    )
                elif isinstance(record, BindingRecord):
                    db.execute(
                        "INSERT OR REPLACE INTO bindings (id, instance_id, service_id, plan_id, "
                        "created_at, data) VALUES (?, ?, ?, ?, ?, ?)",
                        (record.id, record.instance_id, record.service_id, record.plan_id,
                         record.created_at, _dumps(record.to_dict())),
                    )
                else:
                    db.execute(
                        "INSERT INTO operations (id, instance_id, binding_id, type, state, data) "
                        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                        "state = excluded.state, data = excluded.data",
                        (record.id, record.instance_id, record.binding_id, record.type,
                         record.state, _dumps(record.to_dict())),
                    )

    def list_instances(self) -> list[InstanceRecord]:
        rows = self._db.execute("SELECT data FROM instances ORDER BY created_at").fetchall()
        return [InstanceRecord.from_dict(json.loads(row[0])) for row in rows]

    def list_bindings(self) -> list[BindingRecord]:
        rows = self._db.execute("SELECT data FROM bindings ORDER BY created_at").fetchall()
        return [BindingRecord.from_dict(json.loads(row[0])) for row in rows]

    def list_operations(self, limit: int = 1000) -> list[OperationRecord]:
        rows = self._db.execute(
            "SELECT data FROM (SELECT seq, data FROM operations ORDER BY seq DESC LIMIT ?) "
            "ORDER BY seq",
            (limit,),
        ).fetchall()
        return [OperationRecord.from_dict(json.loads(row[0])) for row in rows]

    def counts(self) -> StateCounts:
        db = self._db
        instances = {
            (service, plan): count
            for service, plan, count in db.execute(
                "SELECT service_id, plan_id, COUNT(*) FROM instances GROUP BY service_id, plan_id"
            )
        }
        bindings = {
            (service, plan): count
            for service, plan, count in db.execute(
                "SELECT service_id, plan_id, COUNT(*) FROM bindings GROUP BY service_id, plan_id"
            )
        }
        running = dict(
            db.execute(
                "SELECT type, COUNT(*) FROM operations WHERE state = 'in progress' GROUP BY type"
            ).fetchall()
        )
        return StateCounts(instances, bindings, running)

    def reset(self, keep_journal: bool = False) -> None:
        with self._write() as db:
            for table in ("instances", "bindings", "operations", "faults", "catalogs"):
                db.execute(f"DELETE FROM {table}")
            db.execute("DELETE FROM meta WHERE key LIKE 'fault_seed:%'")
            self._bump_generation(db)
        if not keep_journal:
            self.journal_clear()

    # --- journal ----------------------------------------------------------------------
    def journal_append(self, entry: dict[str, Any], limit: int) -> int:
        with self._write(self._journal_db) as db:
            cursor = db.execute(
                "INSERT INTO journal (epoch, method, operation, instance_id, binding_id, status, "
                "data) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (entry["epoch"], entry.get("method"), entry.get("operation"),
                 entry.get("instance_id"), entry.get("binding_id"), entry.get("status"),
                 _dumps(entry)),
            )
            entry_id = int(cursor.lastrowid or 0)
            db.execute("DELETE FROM journal WHERE id <= ?", (entry_id - limit,))
        return entry_id

    def journal_query(self, query: JournalQuery) -> list[dict[str, Any]]:
        where, args = [], []
        for column in JOURNAL_COLUMNS:
            value = getattr(query, column)
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if query.since_id is not None:
            where.append("id > ?")
            args.append(query.since_id)
        if query.since_time is not None:
            where.append("epoch >= ?")
            args.append(query.since_time)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        forward = query.since_id is not None or query.since_time is not None
        order = "ASC" if forward else "DESC"
        rows = self._journal_db.execute(
            f"SELECT id, data FROM journal {clause} ORDER BY id {order} LIMIT ?",
            (*args, query.limit),
        ).fetchall()
        if not forward:
            rows.reverse()
        return [{**json.loads(data), "id": entry_id} for entry_id, data in rows]

    def journal_clear(self) -> None:
        with self._write(self._journal_db) as db:
            db.execute("DELETE FROM journal")

    # --- faults -----------------------------------------------------------------------
    def fault_add(self, rule: dict[str, Any]) -> str:
        rule_id = rule.get("id") or f"fault-{uuid.uuid4().hex[:12]}"
        stored = {key: value for key, value in rule.items() if key not in ("calls", "fired")}
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO faults (id, data) VALUES (?, ?)",
                (rule_id, _dumps({**stored, "id": rule_id})),
            )
            self._bump_generation(db)
        return rule_id

    def fault_list(self) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT data, calls, fired FROM faults ORDER BY seq").fetchall()
        return [{**json.loads(data), "calls": calls, "fired": fired} for data, calls, fired in rows]

    def fault_delete(self, rule_id: str) -> bool:
        with self._write() as db:
            deleted = db.execute("DELETE FROM faults WHERE id = ?", (rule_id,)).rowcount
            self._bump_generation(db)
        return bool(deleted)

    def fault_delete_all(self) -> None:
        with self._write() as db:
            db.execute("DELETE FROM faults")
            self._bump_generation(db)

    def fault_hit(self, rule_id: str) -> int:
        with self._write() as db:
            row = db.execute(
                "UPDATE faults SET calls = calls + 1 WHERE id = ? RETURNING calls", (rule_id,)
            ).fetchone()
        return int(row[0]) if row else 0

    def fault_fired(self, rule_id: str) -> None:
        with self._write() as db:
            db.execute("UPDATE faults SET fired = fired + 1 WHERE id = ?", (rule_id,))

    def fault_seed(self, rules: list[dict[str, Any]], marker: str) -> None:
        with self._write() as db:
            inserted = db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES (?, 1)", (f"fault_seed:{marker}",)
            ).rowcount
            if not inserted:
                return
            wanted = {rule["id"] for rule in rules}
            for rule_id, data in db.execute("SELECT id, data FROM faults").fetchall():
                if json.loads(data).get("origin") == "catalog" and rule_id not in wanted:
                    db.execute("DELETE FROM faults WHERE id = ?", (rule_id,))
            for rule in rules:
                db.execute(
                    "INSERT OR IGNORE INTO faults (id, data) VALUES (?, ?)", (rule["id"], _dumps(rule))
                )
            self._bump_generation(db)

    # --- catalogs ---------------------------------------------------------------------
    def catalog_documents(self) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT data FROM catalogs ORDER BY seq").fetchall()
        return [json.loads(row[0]) for row in rows]

    def catalog_push(self, document: dict[str, Any]) -> None:
        with self._write() as db:
            db.execute("INSERT INTO catalogs (data) VALUES (?)", (_dumps(document),))
            self._bump_generation(db)
