"""``sqlite:///PATH``: the default store, one file shared by every gunicorn worker.

* WAL mode, so readers never wait for the writer; ``synchronous`` is a setting.
  NORMAL, the default, writes every commit to the write-ahead log before the answer
  (the operating system holds it), so an acknowledged change survives a killed broker
  process (``kill -9``) and a restart; the log is synced to disk at checkpoints only,
  so a power loss or an operating system crash may lose the last commits. FULL also
  syncs the log on every commit, for those.
* Reads use one connection per thread and process (re-opened after a fork); every
  write runs on one write connection per process and database (see ``_writers``).
* The request journal lives in a second file next to the state
  (``broker.journal.db``) with ``synchronous=NORMAL``: recording a request must
  not cost an fsync, and losing the last journal lines on power loss is harmless.
* Cross-process per-key locks are ``flock(2)`` stripes in ``broker.db.locks/``.
* Journal entries that repeat a response already recorded (the catalog, mostly)
  store it once, in ``journal_responses``; queries put it back in place.
* Writes are group-committed (:mod:`broker.storage.group_commit`): concurrent
  writers share one transaction and one sync, and each returns after its commit.
* The journal keeps to its byte budget (:mod:`broker.journal.retention`): its file
  uses ``auto_vacuum=INCREMENTAL``, so pages freed by trimming go back to the file
  system, and its write-ahead log is truncated after checkpoints.
* Files are private: the folder the store creates is 0700, every database file 0600
  (SQLite gives its ``-wal`` and ``-shm`` files the database file's mode).
* A full disk is :class:`~broker.storage.base.StoreUnavailable` (503, nothing
  half-written: the transaction rolls back), and :meth:`SQLiteStore.check` reports
  the store not ready while less than :data:`MIN_FREE_BYTES` are free. Writing
  resumes by itself once there is room again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import stat
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, TypeVar

from broker.journal.retention import CHECK_EVERY, bytes_to_free, releasable
from broker.storage.base import (
    Change,
    JournalQuery,
    Position,
    StateCounts,
    StoreUnavailable,
    iter_changes,
)
from broker.storage.group_commit import GroupCommit
from broker.storage.records import BindingRecord, InstanceRecord, OperationRecord
from broker.storage.striped_locks import StripedFileLocks

__all__ = ["SQLiteStore"]

log = logging.getLogger("broker.storage")

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
    data TEXT NOT NULL,
    response_digest TEXT,
    size INTEGER
);
CREATE TABLE IF NOT EXISTS journal_responses (
    digest TEXT PRIMARY KEY,
    data TEXT NOT NULL
)
"""

# Entries whose response is the very object recorded before (the journal hands out
# one object per repeated GET answer, e.g. the catalog) keep the response once, in
# journal_responses, keyed by digest; their own row has "response": null and the
# digest. Unreferenced shared responses are swept every SWEEP_EVERY entries.
SHARED_RESPONSES_REMEMBERED = 16
SWEEP_EVERY = 1000

JOURNAL_COLUMNS = ("operation", "instance_id", "binding_id", "method", "status")
# The write-ahead log of the journal is cut back to this after a checkpoint.
JOURNAL_WAL_LIMIT = 4 * 1024 * 1024
# Less free space than this on the store's file system: not ready (GET /readyz).
MIN_FREE_BYTES = 1024 * 1024
T = TypeVar("T")


def _is_disk_full(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF == sqlite3.SQLITE_FULL
    return "disk is full" in str(exc)


def _private_file(path: Path) -> None:
    """Create ``path`` if missing, and make it readable by its owner only."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) & 0o077:
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


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


def _statement(kind: str, record_id: str, record: Any) -> tuple[str, tuple[Any, ...]]:
    """The statement that writes (or, for ``None``, deletes) one record."""
    if record is None:
        table = {"instance": "instances", "binding": "bindings"}.get(kind, "operations")
        return f"DELETE FROM {table} WHERE id = ?", (record_id,)
    if isinstance(record, InstanceRecord):
        return (
            "INSERT OR REPLACE INTO instances (id, service_id, plan_id, created_at, data) "
            "VALUES (?, ?, ?, ?, ?)",
            (record.id, record.service_id, record.plan_id, record.created_at, record.to_json()),
        )
    if isinstance(record, BindingRecord):
        return (
            "INSERT OR REPLACE INTO bindings (id, instance_id, service_id, plan_id, created_at, "
            "data) VALUES (?, ?, ?, ?, ?, ?)",
            (
                record.id,
                record.instance_id,
                record.service_id,
                record.plan_id,
                record.created_at,
                record.to_json(),
            ),
        )
    return (
        "INSERT INTO operations (id, instance_id, binding_id, type, state, data) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
        "state = excluded.state, data = excluded.data",
        (
            record.id,
            record.instance_id,
            record.binding_id,
            record.type,
            record.state,
            record.to_json(),
        ),
    )


class _SharedResponses:
    """Recognises a response object recorded before and encodes it once.

    Identity, not equality: the journal passes the same (never changed) object for a
    repeated answer. A strong reference is kept with each id, so an id cannot be
    reused by another object while it is remembered.
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._seen: OrderedDict[int, Any] = OrderedDict()
        self._encoded: dict[int, tuple[Any, tuple[str, str]]] = {}

    def encoded(self, response: Any) -> tuple[str, str] | None:
        """``(digest, JSON text)`` when ``response`` was seen before, else ``None``."""
        if not isinstance(response, (dict, list)):
            return None
        key = id(response)
        with self._mutex:
            known = self._encoded.get(key)
            if known is not None and known[0] is response:
                return known[1]
            if self._seen.get(key) is not response:
                self._seen[key] = response
                if len(self._seen) > SHARED_RESPONSES_REMEMBERED:
                    self._seen.popitem(last=False)
                return None
            del self._seen[key]
        text = _dumps(response)
        shared = (hashlib.sha256(text.encode()).hexdigest()[:32], text)
        with self._mutex:
            if len(self._encoded) >= SHARED_RESPONSES_REMEMBERED:
                self._encoded.clear()
            self._encoded[key] = (response, shared)
        return shared


class SQLiteStore:
    def __init__(self, url: str, synchronous: str = "NORMAL") -> None:
        if not url.startswith("sqlite:///"):
            raise StoreUnavailable(f"not a sqlite:/// URL: {url}")
        self.url = url
        self.path = Path(url[len("sqlite:///") :])
        self.journal_path = self.path.with_name(self.path.stem + ".journal.db")
        self._synchronous = synchronous
        self._local = threading.local()
        self._writer_mutex = threading.Lock()
        self._writer_pid: int | None = None
        self._writer_connections: tuple[sqlite3.Connection, sqlite3.Connection] | None = None
        self._responses = _SharedResponses()
        try:
            # A folder created here holds credentials: its owner's alone.
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            for file in (self.path, self.journal_path):
                _private_file(file)
                for suffix in ("-wal", "-shm"):
                    leftover = file.with_name(file.name + suffix)
                    if leftover.exists():
                        _private_file(leftover)
            locks = self.path.with_name(self.path.name + ".locks")
            self._locks = StripedFileLocks(locks)
            self._state_writes = GroupCommit(
                lambda: self._writers()[0], locks / "writer-state.lock"
            )
            self._journal_writes = GroupCommit(
                lambda: self._writers()[1], locks / "writer-journal.lock"
            )
            self._migrate()
        except (OSError, sqlite3.Error) as exc:
            raise StoreUnavailable(f"cannot open SQLite store {self.path}: {exc}") from exc

    # --- connections ------------------------------------------------------------------
    def _connect(self, path: Path, synchronous: str, shared: bool = False) -> sqlite3.Connection:
        connection = sqlite3.connect(
            path, timeout=30, isolation_level=None, check_same_thread=not shared
        )
        _use_wal(connection, timeout=30)
        connection.execute(f"PRAGMA synchronous={synchronous}")
        connection.execute("PRAGMA busy_timeout=30000")
        return connection

    def _connect_journal(self, shared: bool = False) -> sqlite3.Connection:
        connection = self._connect(self.journal_path, "NORMAL", shared)
        connection.execute(f"PRAGMA journal_size_limit={JOURNAL_WAL_LIMIT}")
        return connection

    def _connections(self) -> tuple[sqlite3.Connection, sqlite3.Connection]:
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            local.pid = os.getpid()
            local.state = self._connect(self.path, self._synchronous)
            local.journal = self._connect_journal()
        return local.state, local.journal

    def _writers(self) -> tuple[sqlite3.Connection, sqlite3.Connection]:
        """The process's write connections (state, journal), used by one thread at a time.

        Every write runs on these, never on a reading thread's own connection: a
        connection discards its page cache whenever another connection has written
        since its last transaction, so one writer per process keeps its pages, and
        the threads' reading connections are not invalidated by their own writes.
        The group commits let one leader at a time use them.
        """
        if self._writer_pid != os.getpid():
            with self._writer_mutex:
                if self._writer_pid != os.getpid():
                    self._writer_connections = (
                        self._connect(self.path, self._synchronous, shared=True),
                        self._connect_journal(shared=True),
                    )
                    self._writer_pid = os.getpid()
        assert self._writer_connections is not None
        return self._writer_connections

    @property
    def _db(self) -> sqlite3.Connection:
        return self._connections()[0]

    @property
    def _journal_db(self) -> sqlite3.Connection:
        return self._connections()[1]

    @contextmanager
    def _write(self, journal: bool = False) -> Iterator[sqlite3.Connection]:
        """A write transaction of the calling thread, in turn with the group commits."""
        with (
            self._disk_errors(),
            (self._journal_writes if journal else self._state_writes).exclusive() as db,
        ):
            yield db

    def _run(self, work: Callable[[sqlite3.Connection], T], journal: bool = False) -> T:
        """``work`` in a group-committed transaction (see GroupCommit.run)."""
        # try/except rather than _disk_errors(): this is every write's path.
        try:
            return (self._journal_writes if journal else self._state_writes).run(work)
        except sqlite3.Error as exc:
            if not _is_disk_full(exc):
                raise
            raise self._disk_full() from exc

    @contextmanager
    def _disk_errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            if not _is_disk_full(exc):
                raise
            raise self._disk_full() from exc

    def _disk_full(self) -> StoreUnavailable:
        return StoreUnavailable(
            f"SQLite store {self.path}: the disk is full ({self._free_space()})"
        )

    def _free_space(self) -> str:
        try:
            found = os.statvfs(self.path.parent)
        except OSError as exc:
            return f"free space unknown: {exc.strerror}"
        return f"{found.f_bavail * found.f_frsize} bytes free"

    def _migrate(self) -> None:
        with self._write() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreUnavailable(
                    f"{self.path} was written by a newer mockbroker (schema {version})"
                )
            _run_script(db, STATE_SCHEMA)
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        self._release_journal_space(vacuum_older=True)
        with self._write(journal=True) as journal:
            _run_script(journal, JOURNAL_SCHEMA)
            columns = {row[1] for row in journal.execute("PRAGMA table_info(journal)")}
            for column in ("response_digest TEXT", "size INTEGER"):
                if column.split()[0] not in columns:  # a journal written by an older version
                    journal.execute(f"ALTER TABLE journal ADD COLUMN {column}")

    def _release_journal_space(self, vacuum_older: bool = False) -> None:
        """Give the journal file's free pages back to the file system.

        Best effort: the entries are gone already, only the file stays larger than it
        needs to be when this fails (on a full disk, say). A journal file made by an
        older version has no incremental vacuum: with ``vacuum_older`` it is switched
        over (a full VACUUM, once; it needs room for a copy of the file).
        """
        connection = sqlite3.connect(self.journal_path, timeout=30, isolation_level=None)
        try:
            connection.execute("PRAGMA busy_timeout=30000")
            if vacuum_older and connection.execute("PRAGMA auto_vacuum").fetchone()[0] != 2:
                connection.execute("PRAGMA auto_vacuum=INCREMENTAL")
                connection.execute("VACUUM")
            _use_wal(connection, timeout=30)
            connection.execute(f"PRAGMA journal_size_limit={JOURNAL_WAL_LIMIT}")
            # incremental_vacuum frees a page per step, and execute() takes one step:
            # executescript() runs it to the end (there is no transaction to commit here).
            connection.executescript("PRAGMA incremental_vacuum;")
            # In WAL mode the file is cut when a checkpoint has copied every change back;
            # PASSIVE does not wait for readers (the next automatic checkpoint cuts it then).
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as exc:
            log.warning("could not give the journal's free space back: %s", exc)
        finally:
            connection.close()

    # --- lifecycle / coordination -----------------------------------------------------
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
            raise self._disk_full()

    def close(self) -> None:
        local = self._local
        if getattr(local, "pid", None) == os.getpid():
            local.state.close()
            local.journal.close()
        local.pid = None
        with self._writer_mutex:
            if self._writer_pid == os.getpid() and self._writer_connections is not None:
                for connection in self._writer_connections:
                    connection.close()
            self._writer_pid = self._writer_connections = None

    def lock(self, key: str) -> AbstractContextManager[None]:
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
        # Statements are built (records encoded) before the transaction: the time
        # spent holding the write lock is only SQLite's.
        statements = [
            _statement(kind, record_id, record) for kind, record_id, record in iter_changes(changes)
        ]

        def write(db: sqlite3.Connection) -> None:
            for sql, parameters in statements:
                db.execute(sql, parameters)

        self._run(write)

    def _page(
        self, table: str, limit: int | None, after: Position | None, newest_first: bool
    ) -> list[Any]:
        where, args = "", []
        if after is not None:
            where = f"WHERE (created_at, id) {'<' if newest_first else '>'} (?, ?)"
            args = [float(after[0]), str(after[1])]
        order = "DESC" if newest_first else "ASC"
        rows = self._db.execute(
            f"SELECT data FROM {table} {where} ORDER BY created_at {order}, id {order} LIMIT ?",
            (*args, -1 if limit is None else limit),
        ).fetchall()
        return [json.loads(row[0]) for row in rows]

    def list_instances(
        self, limit: int | None = None, after: Position | None = None, newest_first: bool = False
    ) -> list[InstanceRecord]:
        return [
            InstanceRecord.from_dict(data)
            for data in self._page("instances", limit, after, newest_first)
        ]

    def list_bindings(
        self, limit: int | None = None, after: Position | None = None, newest_first: bool = False
    ) -> list[BindingRecord]:
        return [
            BindingRecord.from_dict(data)
            for data in self._page("bindings", limit, after, newest_first)
        ]

    def list_operations(
        self,
        limit: int = 1000,
        *,
        before: str | None = None,
        state: str | None = None,
        instance_id: str | None = None,
    ) -> list[OperationRecord]:
        where, args = _operation_filters(before, state, instance_id)
        rows = self._db.execute(
            "SELECT data FROM (SELECT seq, data FROM operations "
            f"{where} ORDER BY seq DESC LIMIT ?) ORDER BY seq",
            (*args, limit),
        ).fetchall()
        return [OperationRecord.from_dict(json.loads(row[0])) for row in rows]

    def prune_operations(self, finished_before: float) -> int:
        def prune(db: sqlite3.Connection) -> int:
            return db.execute(
                "DELETE FROM operations WHERE state != 'in progress' "
                "AND json_extract(data, '$.finished_at') < ? "
                "AND NOT (seq = (SELECT MAX(seq) FROM operations AS newer "
                "WHERE newer.instance_id = operations.instance_id "
                "AND newer.binding_id IS operations.binding_id) "
                "AND (CASE WHEN binding_id IS NULL "
                "THEN instance_id IN (SELECT id FROM instances) "
                "ELSE binding_id IN (SELECT id FROM bindings) END))",
                (finished_before,),
            ).rowcount

        return self._run(prune)

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
    def journal_append(
        self, entry: dict[str, Any], limit: int, max_bytes: int | None = None
    ) -> int:
        shared = self._responses.encoded(entry.get("response"))
        if shared is None:
            data, digest = _dumps(entry), None
        else:
            digest, text = shared
            data = _dumps({**entry, "response": None})
        row = (
            entry["epoch"],
            entry.get("method"),
            entry.get("operation"),
            entry.get("instance_id"),
            entry.get("binding_id"),
            entry.get("status"),
            data,
            digest,
            len(data),
        )

        def append(db: sqlite3.Connection) -> tuple[int, bool]:
            if shared is not None:
                db.execute(
                    "INSERT OR IGNORE INTO journal_responses (digest, data) VALUES (?, ?)", shared
                )
            cursor = db.execute(
                "INSERT INTO journal (epoch, method, operation, instance_id, binding_id, status, "
                "data, response_digest, size) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            entry_id = int(cursor.lastrowid or 0)
            db.execute("DELETE FROM journal WHERE id <= ?", (entry_id - limit,))
            if entry_id % SWEEP_EVERY == 0:
                db.execute(
                    "DELETE FROM journal_responses WHERE digest NOT IN "
                    "(SELECT response_digest FROM journal WHERE response_digest IS NOT NULL)"
                )
            if max_bytes and entry_id % CHECK_EVERY == 0:
                return entry_id, _keep_journal_within(db, max_bytes)
            return entry_id, False

        try:  # not self._run(): a call less on every request's path
            entry_id, release = self._journal_writes.run(append)
        except sqlite3.Error as exc:
            if not _is_disk_full(exc):
                raise
            raise self._disk_full() from exc
        if release:
            self._release_journal_space()
        return entry_id

    def journal_query(self, query: JournalQuery) -> list[dict[str, Any]]:
        where, args = [], []
        for column in JOURNAL_COLUMNS:
            value = getattr(query, column)
            if value is not None:
                where.append(f"journal.{column} = ?")
                args.append(value)
        if query.since_id is not None:
            where.append("journal.id > ?")
            args.append(query.since_id)
        if query.since_time is not None:
            where.append("journal.epoch >= ?")
            args.append(query.since_time)
        if query.before_id is not None:
            where.append("journal.id < ?")
            args.append(query.before_id)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        forward = query.forward
        order = "ASC" if forward else "DESC"
        rows = self._journal_db.execute(
            "SELECT journal.id, journal.data, journal_responses.data FROM journal "
            "LEFT JOIN journal_responses ON journal_responses.digest = journal.response_digest "
            f"{clause} ORDER BY journal.id {order} LIMIT ?",
            (*args, query.limit),
        ).fetchall()
        if not forward:
            rows.reverse()
        entries = []
        for entry_id, data, response in rows:
            entry = json.loads(data)
            if response is not None:
                entry["response"] = json.loads(response)  # keeps the key where it was
            entry["id"] = entry_id
            entries.append(entry)
        return entries

    def journal_clear(self) -> None:
        with self._write(journal=True) as db:
            db.execute("DELETE FROM journal")
            db.execute("DELETE FROM journal_responses")
        self._release_journal_space()

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

    def fault_delete_all(self, origin: str | None = None) -> int:
        with self._write() as db:
            if origin is None:
                deleted = db.execute("DELETE FROM faults").rowcount
            else:
                deleted = db.execute(
                    "DELETE FROM faults "
                    "WHERE coalesce(json_extract(data, '$.origin'), 'admin') = ?",
                    (origin,),
                ).rowcount
            self._bump_generation(db)
        return int(deleted)

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
                    "INSERT OR IGNORE INTO faults (id, data) VALUES (?, ?)",
                    (rule["id"], _dumps(rule)),
                )
            self._bump_generation(db)

    # --- catalogs ---------------------------------------------------------------------
    def catalog_documents(self) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT data FROM catalogs ORDER BY seq").fetchall()
        return [json.loads(row[0]) for row in rows]

    def catalog_set(self, documents: Sequence[dict[str, Any]]) -> None:
        encoded = [(_dumps(document),) for document in documents]
        with self._write() as db:
            db.execute("DELETE FROM catalogs")
            db.executemany("INSERT INTO catalogs (data) VALUES (?)", encoded)
            self._bump_generation(db)


def _operation_filters(
    before: str | None, state: str | None, instance_id: str | None
) -> tuple[str, list[Any]]:
    """The WHERE clause of :meth:`SQLiteStore.list_operations`."""
    where: list[str] = []
    args: list[Any] = []
    if before is not None:
        where.append("seq < COALESCE((SELECT seq FROM operations WHERE id = ?), -1)")
        args.append(before)
    if state == "finished":
        where.append("state != 'in progress'")
    elif state is not None:
        where.append("state = ?")
        args.append(state)
    if instance_id is not None:
        where.append("instance_id = ?")
        args.append(instance_id)
    return (f"WHERE {' AND '.join(where)}" if where else ""), args


def _keep_journal_within(db: sqlite3.Connection, max_bytes: int) -> bool:
    """Trim the oldest entries over the byte budget (retention); whether to release
    the free pages (after the commit: see ``SQLiteStore._release_journal_space``)."""
    page_size = db.execute("PRAGMA page_size").fetchone()[0]
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    free = db.execute("PRAGMA freelist_count").fetchone()[0]
    excess = bytes_to_free((pages - free) * page_size, max_bytes)
    if excess:
        dropped = 0
        last = None
        for entry_id, size in db.execute(
            "SELECT id, COALESCE(size, length(data)) FROM journal ORDER BY id"
        ):
            dropped += size
            last = entry_id
            if dropped >= excess:
                break
        if last is not None:
            db.execute("DELETE FROM journal WHERE id <= ?", (last,))
            db.execute(
                "DELETE FROM journal_responses WHERE digest NOT IN "
                "(SELECT response_digest FROM journal WHERE response_digest IS NOT NULL)"
            )
        free = db.execute("PRAGMA freelist_count").fetchone()[0]
    return releasable(free * page_size, max_bytes)
