"""``postgresql://…``: one database shared by every worker of every broker replica.

URL: a libpq URL plus one option of our own, ``schema`` (default ``mockbroker``),
the PostgreSQL schema holding the broker's tables::

    postgresql://user:password@db.example:5432/broker?schema=ci_run_42&sslmode=require

Replicas that should act as one broker use the same database *and* schema; a
different schema on the same database is a separate broker (handy to isolate
test runs). The schema is created if missing (which needs the ``CREATE``
privilege on the database; an existing schema only needs ``USAGE`` and
``CREATE`` on itself).

* Schema: created or migrated on start, under an advisory lock, so replicas
  starting together never race; ``meta.schema_version`` says which version the
  tables have, and a newer one than this code knows is refused.
* Connections: one per thread and process, in autocommit mode; a multi-statement
  write is one transaction. A process forked after connections were opened (a
  gunicorn worker, a multiprocessing child) opens its own and never touches the
  inherited ones: closing them would end the parent's sessions.
* :meth:`PostgresStore.lock` is a session-level advisory lock in the two-int form
  (namespace, hash of schema and id). The server releases it when the session
  ends, so a killed process never leaves a resource locked. If the connection of
  a thread that holds locks breaks, the store refuses to reconnect that thread
  until the locks are released: no write ever happens without the lock it needs.
* The journal is written with ``synchronous_commit = off`` (recording a request
  must not wait for a WAL flush) and under a transaction-level advisory lock, so
  entry ids become visible in increasing order: a reader following ``since_id``
  never skips an entry that commits late.
* Do not put a transaction-pooling proxy (PgBouncer ``pool_mode=transaction``)
  in front of it: session advisory locks need a session.
"""

from __future__ import annotations

import json
import os
import re
import threading
import uuid
import weakref
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from broker.journal.retention import CHECK_EVERY, bytes_to_free
from broker.storage.base import (
    AnyRecord,
    Change,
    JournalQuery,
    Position,
    StateCounts,
    StoreUnavailable,
    iter_changes,
)
from broker.storage.records import BindingRecord, InstanceRecord, OperationRecord
from broker.storage.striped_locks import NAMESPACES
from broker.storage.urls import redacted_url

__all__ = ["DEFAULT_SCHEMA", "PostgresStore", "parse_postgres_url"]

DEFAULT_SCHEMA = "mockbroker"
SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# Advisory lock namespaces (the first int of the two-int form): "mb" in the high
# bytes keeps them apart from other applications' locks on the same database.
LOCK_BASE = 0x6D62_0000
MIGRATION_LOCK = LOCK_BASE + 0x100
JOURNAL_LOCK = LOCK_BASE + 0x101

# Each entry migrates the schema from version N to N + 1 (index N).
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value BIGINT NOT NULL
    );
    INSERT INTO meta (key, value) VALUES ('generation', 0), ('schema_version', 0);
    CREATE TABLE instances (
        id TEXT PRIMARY KEY,
        service_id TEXT NOT NULL,
        plan_id TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        data JSON NOT NULL
    );
    CREATE INDEX instances_by_creation ON instances (created_at);
    CREATE TABLE bindings (
        id TEXT PRIMARY KEY,
        instance_id TEXT NOT NULL,
        service_id TEXT NOT NULL,
        plan_id TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        data JSON NOT NULL
    );
    CREATE INDEX bindings_by_instance ON bindings (instance_id);
    CREATE INDEX bindings_by_creation ON bindings (created_at);
    CREATE TABLE operations (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        instance_id TEXT NOT NULL,
        binding_id TEXT,
        type TEXT NOT NULL,
        state TEXT NOT NULL,
        data JSON NOT NULL
    );
    CREATE INDEX operations_by_owner ON operations (instance_id, binding_id, seq);
    CREATE INDEX operations_running ON operations (type) WHERE state = 'in progress';
    CREATE TABLE faults (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        data JSON NOT NULL,
        calls BIGINT NOT NULL DEFAULT 0,
        fired BIGINT NOT NULL DEFAULT 0
    );
    CREATE TABLE catalogs (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        data JSON NOT NULL
    );
    CREATE TABLE journal (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        epoch DOUBLE PRECISION NOT NULL,
        method TEXT,
        operation TEXT,
        instance_id TEXT,
        binding_id TEXT,
        status INTEGER,
        data JSON NOT NULL
    );
    """,
    # 1 -> 2: the journal's byte budget (a size per entry and their running total, in
    # a table of its own: it changes with every request), keyset paging of instances
    # and bindings.
    """
    ALTER TABLE journal ADD COLUMN size INTEGER NOT NULL DEFAULT 0;
    UPDATE journal SET size = octet_length(data::text);
    CREATE TABLE journal_total (bytes BIGINT NOT NULL);
    INSERT INTO journal_total (bytes) SELECT COALESCE(SUM(size), 0) FROM journal;
    CREATE INDEX instances_by_position ON instances (created_at, id);
    CREATE INDEX bindings_by_position ON bindings (created_at, id);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)

JOURNAL_COLUMNS = ("operation", "instance_id", "binding_id", "method", "status")
TABLES = {"instance": "instances", "binding": "bindings", "operation": "operations"}

# Connections inherited through fork(): never used and never closed in the child
# (closing would end the parent's session), only kept referenced so that their
# finalizer does not complain about an unclosed connection.
_INHERITED: list[psycopg.Connection[Any]] = []


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _int32(value: int) -> int:
    return value - (1 << 32) if value >= 1 << 31 else value


def parse_postgres_url(url: str) -> tuple[str, str]:
    """``(libpq URL without our options, schema)``; raise StoreUnavailable if unusable."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise StoreUnavailable(f"not a postgresql:// URL: {redacted_url(url)}")
    options = parse_qsl(parts.query, keep_blank_values=True)
    schemas = [value for key, value in options if key == "schema"]
    schema = schemas[-1] if schemas else DEFAULT_SCHEMA
    if not SCHEMA_NAME.match(schema):
        raise StoreUnavailable(
            f"schema {schema!r} in the store URL is not a plain lower-case PostgreSQL name "
            "(letters, digits and _, not starting with a digit, at most 63 characters)"
        )
    rest = urlencode([(key, value) for key, value in options if key != "schema"])
    return urlunsplit(parts._replace(query=rest)), schema


def _change_statement(
    kind: str, record_id: str, record: AnyRecord | None
) -> tuple[str | sql.Composed, tuple[Any, ...]]:
    """The upsert or delete that performs one change of :meth:`PostgresStore.apply`."""
    if record is None:
        table = sql.Identifier(TABLES.get(kind, "operations"))
        return sql.SQL("DELETE FROM {} WHERE id = %s").format(table), (record_id,)
    data = record.to_json()
    if isinstance(record, InstanceRecord):
        return (
            "INSERT INTO instances (id, service_id, plan_id, created_at, data) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET "
            "service_id = excluded.service_id, plan_id = excluded.plan_id, "
            "created_at = excluded.created_at, data = excluded.data",
            (record.id, record.service_id, record.plan_id, record.created_at, data),
        )
    if isinstance(record, BindingRecord):
        return (
            "INSERT INTO bindings (id, instance_id, service_id, plan_id, created_at, data) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET "
            "instance_id = excluded.instance_id, service_id = excluded.service_id, "
            "plan_id = excluded.plan_id, created_at = excluded.created_at, data = excluded.data",
            (
                record.id,
                record.instance_id,
                record.service_id,
                record.plan_id,
                record.created_at,
                data,
            ),
        )
    assert isinstance(record, OperationRecord)
    return (
        "INSERT INTO operations (id, instance_id, binding_id, type, state, data) "
        "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET "
        "state = excluded.state, data = excluded.data",
        (record.id, record.instance_id, record.binding_id, record.type, record.state, data),
    )


def _renew_mutex(store: weakref.ref[PostgresStore]) -> None:
    found = store()
    if found is not None:
        found._registry_mutex = threading.Lock()


class _ThreadSession:
    """The connection of one thread, and how many advisory locks it holds."""

    __slots__ = ("connection", "held", "pid", "thread")

    def __init__(self) -> None:
        self.pid: int | None = None
        self.connection: psycopg.Connection[Any] | None = None
        self.held = 0
        self.thread: weakref.ref[threading.Thread] | None = None


class PostgresStore:
    def __init__(self, url: str) -> None:
        self.url = redacted_url(url)
        self._libpq_url, self.schema = parse_postgres_url(url)
        self._local = threading.local()
        self._registry_mutex = threading.Lock()
        self._sessions: list[_ThreadSession] = []
        self._registry_pid = os.getpid()
        self._schema_key = _int32(zlib.crc32(self.schema.encode()))
        # A fork while another thread registers a session would leave the mutex held
        # in the child forever; the child starts with a fresh one instead.
        os.register_at_fork(after_in_child=partial(_renew_mutex, weakref.ref(self)))
        try:
            self._migrate()
        except BaseException:
            self.close()
            raise

    # --- connections ------------------------------------------------------------------
    def _describe(self, exc: BaseException) -> str:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        return f"PostgreSQL store {self.url} (schema {self.schema}): {reason}"

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
            return psycopg.connect(self._libpq_url, **extra)
        except psycopg.Error as exc:
            raise StoreUnavailable(self._describe(exc)) from exc

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
                self._describe(RuntimeError("the connection holding a lock was lost"))
            )
        session.connection = self._connect()
        return session.connection

    @contextmanager
    def _db(self) -> Iterator[psycopg.Connection[Any]]:
        """This thread's connection; a lost connection or schema becomes StoreUnavailable."""
        connection = self._connection()
        try:
            yield connection
        except psycopg.OperationalError as exc:
            raise StoreUnavailable(self._describe(exc)) from exc
        except (psycopg.errors.UndefinedTable, psycopg.errors.InvalidSchemaName) as exc:
            raise StoreUnavailable(
                self._describe(RuntimeError("the broker's tables are missing (schema dropped?)"))
            ) from exc

    @contextmanager
    def _write(self) -> Iterator[psycopg.Connection[Any]]:
        with self._db() as db, db.transaction():
            yield db

    def _read(self, query: str, args: tuple[Any, ...], many: bool) -> Any:
        # A read may run again on a fresh connection when the server dropped the old
        # one (restart, idle timeout): the first request after an outage succeeds.
        for attempt in (1, 2):
            try:
                with self._db() as db:
                    cursor = db.execute(query, args)
                    return cursor.fetchall() if many else cursor.fetchone()
            except StoreUnavailable:
                if attempt == 2 or not self._may_reconnect():
                    raise
        raise AssertionError("unreachable")

    def _may_reconnect(self) -> bool:
        session = self._session()
        return not session.held and (session.connection is None or session.connection.closed)

    def _rows(self, query: str, *args: Any) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = self._read(query, args, many=True)
        return rows

    def _one(self, query: str, *args: Any) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self._read(query, args, many=False)
        return row

    def _migrate(self) -> None:
        with self._write() as db:
            db.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)",
                (MIGRATION_LOCK, self._schema_key),
            )
            if db.execute("SELECT to_regnamespace(%s)", (self.schema,)).fetchone() == (None,):
                try:
                    db.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(self.schema)))
                except psycopg.errors.InsufficientPrivilege as exc:
                    raise StoreUnavailable(
                        self._describe(exc) + " (create the schema or choose one with ?schema=)"
                    ) from exc
            version = 0
            if db.execute("SELECT to_regclass(%s)", (f"{self.schema}.meta",)).fetchone() != (None,):
                row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
                version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise StoreUnavailable(
                    self._describe(
                        RuntimeError(f"written by a newer mockbroker (schema version {version})")
                    )
                )
            for script in MIGRATIONS[version:]:
                db.execute(script)
            db.execute("UPDATE meta SET value = %s WHERE key = 'schema_version'", (SCHEMA_VERSION,))

    # --- lifecycle / coordination -----------------------------------------------------
    def check(self) -> None:
        row = self._one("SELECT value FROM meta WHERE key = 'schema_version'")
        if row is None or int(row[0]) != SCHEMA_VERSION:
            found = row[0] if row else "none"
            raise StoreUnavailable(
                self._describe(RuntimeError(f"schema version {found}, expected {SCHEMA_VERSION}"))
            )

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

    @staticmethod
    def _lock_ints(schema: str, key: str) -> tuple[int, int]:
        namespace, separator, rest = key.partition(":")
        if not separator or namespace not in NAMESPACES:
            raise ValueError(f"lock key {key!r} must start with one of {NAMESPACES}")
        return LOCK_BASE + NAMESPACES.index(namespace), _int32(
            zlib.crc32(f"{schema}:{rest}".encode())
        )

    @contextmanager
    def lock(self, key: str) -> Iterator[None]:
        space, number = self._lock_ints(self.schema, key)
        with self._db() as db:
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

    def generation(self) -> int:
        row = self._one("SELECT value FROM meta WHERE key = 'generation'")
        return int(row[0]) if row else 0

    @staticmethod
    def _bump_generation(db: psycopg.Connection[Any]) -> None:
        db.execute("UPDATE meta SET value = value + 1 WHERE key = 'generation'")

    # --- OSB state --------------------------------------------------------------------
    def _data(self, query: str, *args: Any) -> dict[str, Any] | None:
        row = self._one(query, *args)
        return row[0] if row else None

    def get_instance(self, instance_id: str) -> InstanceRecord | None:
        data = self._data("SELECT data FROM instances WHERE id = %s", instance_id)
        return InstanceRecord.from_dict(data) if data else None

    def get_binding(self, binding_id: str) -> BindingRecord | None:
        data = self._data("SELECT data FROM bindings WHERE id = %s", binding_id)
        return BindingRecord.from_dict(data) if data else None

    def get_operation(self, operation_id: str) -> OperationRecord | None:
        data = self._data("SELECT data FROM operations WHERE id = %s", operation_id)
        return OperationRecord.from_dict(data) if data else None

    def latest_operation(
        self, instance_id: str, binding_id: str | None = None
    ) -> OperationRecord | None:
        if binding_id is None:
            data = self._data(
                "SELECT data FROM operations WHERE instance_id = %s AND binding_id IS NULL "
                "ORDER BY seq DESC LIMIT 1",
                instance_id,
            )
        else:
            data = self._data(
                "SELECT data FROM operations WHERE instance_id = %s AND binding_id = %s "
                "ORDER BY seq DESC LIMIT 1",
                instance_id,
                binding_id,
            )
        return OperationRecord.from_dict(data) if data else None

    def bindings_of(self, instance_id: str) -> list[BindingRecord]:
        rows = self._rows(
            "SELECT data FROM bindings WHERE instance_id = %s ORDER BY id", instance_id
        )
        return [BindingRecord.from_dict(row[0]) for row in rows]

    def apply(self, changes: Sequence[Change]) -> None:
        # Every statement is built (records serialized) before the first is sent.
        statements = [
            _change_statement(kind, id_, record) for kind, id_, record in iter_changes(changes)
        ]
        if len(statements) == 1:
            # One statement is atomic on its own: no BEGIN/COMMIT round trips.
            with self._db() as db:
                db.execute(*statements[0])
            return
        with self._write() as db:
            for statement in statements:
                db.execute(*statement)

    def _page(
        self, table: str, limit: int | None, after: Position | None, newest_first: bool
    ) -> list[Any]:
        where, args = "", []
        if after is not None:
            where = f"WHERE (created_at, id) {'<' if newest_first else '>'} (%s, %s)"
            args = [float(after[0]), str(after[1])]
        order = "DESC" if newest_first else "ASC"
        rows = self._rows(
            f"SELECT data FROM {table} {where} ORDER BY created_at {order}, id {order} LIMIT %s",
            *args,
            limit,
        )
        return [row[0] for row in rows]

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
        where: list[str] = []
        args: list[Any] = []
        if before is not None:
            where.append("seq < COALESCE((SELECT seq FROM operations WHERE id = %s), -1)")
            args.append(before)
        if state == "finished":
            where.append("state <> 'in progress'")
        elif state is not None:
            where.append("state = %s")
            args.append(state)
        if instance_id is not None:
            where.append("instance_id = %s")
            args.append(instance_id)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = self._rows(
            f"SELECT data FROM (SELECT seq, data FROM operations {clause} "
            "ORDER BY seq DESC LIMIT %s) AS newest ORDER BY seq",
            *args,
            limit,
        )
        return [OperationRecord.from_dict(row[0]) for row in rows]

    def prune_operations(self, finished_before: float) -> int:
        with self._db() as db:
            return db.execute(
                "DELETE FROM operations AS old WHERE state <> 'in progress' "
                "AND (data->>'finished_at')::float8 < %s "
                "AND NOT (seq = (SELECT MAX(seq) FROM operations AS newer "
                "WHERE newer.instance_id = old.instance_id "
                "AND newer.binding_id IS NOT DISTINCT FROM old.binding_id) "
                "AND CASE WHEN binding_id IS NULL "
                "THEN EXISTS (SELECT 1 FROM instances WHERE id = old.instance_id) "
                "ELSE EXISTS (SELECT 1 FROM bindings WHERE id = old.binding_id) END)",
                (finished_before,),
            ).rowcount

    def counts(self) -> StateCounts:
        instances = {
            (service, plan): int(count)
            for service, plan, count in self._rows(
                "SELECT service_id, plan_id, COUNT(*) FROM instances GROUP BY service_id, plan_id"
            )
        }
        bindings = {
            (service, plan): int(count)
            for service, plan, count in self._rows(
                "SELECT service_id, plan_id, COUNT(*) FROM bindings GROUP BY service_id, plan_id"
            )
        }
        running = {
            kind: int(count)
            for kind, count in self._rows(
                "SELECT type, COUNT(*) FROM operations WHERE state = 'in progress' GROUP BY type"
            )
        }
        return StateCounts(instances, bindings, running)

    def reset(self, keep_journal: bool = False) -> None:
        with self._write() as db:
            for table in ("instances", "bindings", "operations", "faults", "catalogs"):
                db.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table)))
            db.execute("DELETE FROM meta WHERE key LIKE 'fault\\_seed:%'")
            self._bump_generation(db)
            if not keep_journal:
                self._clear_journal(db)

    # --- journal ----------------------------------------------------------------------
    def journal_append(
        self, entry: dict[str, Any], limit: int, max_bytes: int | None = None
    ) -> int:
        # One statement, so one round trip on the hot path of every request:
        # * the advisory lock is taken before the row (and its id) is made, and held
        #   until commit, so ids become visible in increasing order and a reader
        #   following since_id never skips an entry that commits late;
        # * synchronous_commit is off for this transaction only: recording a request
        #   does not wait for a WAL flush;
        # * the running total of the entries' sizes (journal_total) follows
        #   what is added and what the count limit trims, under the same lock.
        data = _dumps(entry)
        with self._db() as db:
            row = db.execute(
                "WITH ordered AS (SELECT pg_advisory_xact_lock(%s, %s), "
                "set_config('synchronous_commit', 'off', true)), "
                "added AS (INSERT INTO journal (epoch, method, operation, instance_id, "
                "binding_id, status, data, size) SELECT %s::float8, %s::text, %s::text, "
                "%s::text, %s::text, %s::int, %s::json, %s::int FROM ordered "
                "RETURNING id, size), "
                "trimmed AS (DELETE FROM journal WHERE id <= (SELECT id FROM added) - %s "
                "RETURNING size), "
                "total AS (UPDATE journal_total SET bytes = bytes + (SELECT size FROM added) "
                "- (SELECT COALESCE(SUM(size), 0) FROM trimmed) RETURNING bytes) "
                "SELECT (SELECT id FROM added), (SELECT bytes FROM total)",
                (
                    JOURNAL_LOCK,
                    self._schema_key,
                    entry["epoch"],
                    entry.get("method"),
                    entry.get("operation"),
                    entry.get("instance_id"),
                    entry.get("binding_id"),
                    entry.get("status"),
                    data,
                    len(data),
                    limit,
                ),
            ).fetchone()
        assert row is not None
        entry_id, stored = int(row[0]), int(row[1] or 0)
        if max_bytes and entry_id % CHECK_EVERY == 0:
            excess = bytes_to_free(stored, max_bytes)
            if excess:
                self._trim_journal(excess)
        return entry_id

    def _trim_journal(self, excess: int) -> None:
        """Drop the oldest entries holding at least ``excess`` bytes (retention)."""
        with self._write() as db:
            db.execute("SELECT pg_advisory_xact_lock(%s, %s)", (JOURNAL_LOCK, self._schema_key))
            db.execute(
                "WITH cut AS (SELECT id FROM (SELECT id, SUM(size) OVER (ORDER BY id) AS running "
                "FROM journal) AS oldest WHERE running >= %s ORDER BY id LIMIT 1), "
                "trimmed AS (DELETE FROM journal WHERE id <= (SELECT id FROM cut) RETURNING size) "
                "UPDATE journal_total SET bytes = bytes - (SELECT COALESCE(SUM(size), 0) "
                "FROM trimmed)",
                (excess,),
            )

    def _clear_journal(self, db: psycopg.Connection[Any]) -> None:
        db.execute("SELECT pg_advisory_xact_lock(%s, %s)", (JOURNAL_LOCK, self._schema_key))
        db.execute("DELETE FROM journal")
        db.execute("UPDATE journal_total SET bytes = 0")

    def journal_query(self, query: JournalQuery) -> list[dict[str, Any]]:
        where: list[str] = []
        args: list[Any] = []
        for column in JOURNAL_COLUMNS:
            value = getattr(query, column)
            if value is not None:
                where.append(f"{column} = %s")
                args.append(value)
        if query.since_id is not None:
            where.append("id > %s")
            args.append(query.since_id)
        if query.since_time is not None:
            where.append("epoch >= %s")
            args.append(query.since_time)
        if query.before_id is not None:
            where.append("id < %s")
            args.append(query.before_id)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        forward = query.forward
        order = "ASC" if forward else "DESC"
        rows = self._rows(
            f"SELECT id, data FROM journal {clause} ORDER BY id {order} LIMIT %s",
            *args,
            max(query.limit, 0),
        )
        if not forward:
            rows.reverse()
        return [{**data, "id": int(entry_id)} for entry_id, data in rows]

    def journal_clear(self) -> None:
        with self._write() as db:
            self._clear_journal(db)

    # --- faults -----------------------------------------------------------------------
    def fault_add(self, rule: dict[str, Any]) -> str:
        rule_id = rule.get("id") or f"fault-{uuid.uuid4().hex[:12]}"
        stored = {key: value for key, value in rule.items() if key not in ("calls", "fired")}
        with self._write() as db:
            # Like a new rule: fresh counters, last in creation order.
            db.execute("DELETE FROM faults WHERE id = %s", (rule_id,))
            db.execute(
                "INSERT INTO faults (id, data) VALUES (%s, %s)",
                (rule_id, _dumps({**stored, "id": rule_id})),
            )
            self._bump_generation(db)
        return rule_id

    def fault_list(self) -> list[dict[str, Any]]:
        rows = self._rows("SELECT data, calls, fired FROM faults ORDER BY seq")
        return [{**data, "calls": int(calls), "fired": int(fired)} for data, calls, fired in rows]

    def fault_delete(self, rule_id: str) -> bool:
        with self._write() as db:
            deleted = db.execute("DELETE FROM faults WHERE id = %s", (rule_id,)).rowcount
            self._bump_generation(db)
        return bool(deleted)

    def fault_delete_all(self, origin: str | None = None) -> int:
        with self._write() as db:
            if origin is None:
                deleted = db.execute("DELETE FROM faults").rowcount
            else:
                deleted = db.execute(
                    "DELETE FROM faults WHERE coalesce(data->>'origin', 'admin') = %s", (origin,)
                ).rowcount
            self._bump_generation(db)
        return int(deleted)

    def fault_hit(self, rule_id: str) -> int:
        # Not a retried read: a lost answer must not count the call twice.
        with self._db() as db:
            row = db.execute(
                "UPDATE faults SET calls = calls + 1 WHERE id = %s RETURNING calls", (rule_id,)
            ).fetchone()
        return int(row[0]) if row else 0

    def fault_fired(self, rule_id: str) -> None:
        with self._db() as db:
            db.execute("UPDATE faults SET fired = fired + 1 WHERE id = %s", (rule_id,))

    def fault_seed(self, rules: list[dict[str, Any]], marker: str) -> None:
        with self._write() as db:
            # A concurrent seeder with the same marker waits on the key, then finds it.
            inserted = db.execute(
                "INSERT INTO meta (key, value) VALUES (%s, 1) ON CONFLICT (key) DO NOTHING",
                (f"fault_seed:{marker}",),
            ).rowcount
            if not inserted:
                return
            wanted = [rule["id"] for rule in rules]
            db.execute(
                "DELETE FROM faults WHERE data->>'origin' = 'catalog' "
                "AND NOT (id = ANY(%s::text[]))",
                (wanted,),
            )
            for rule in rules:
                db.execute(
                    "INSERT INTO faults (id, data) VALUES (%s, %s) ON CONFLICT (id) DO NOTHING",
                    (rule["id"], _dumps(rule)),
                )
            self._bump_generation(db)

    # --- catalogs ---------------------------------------------------------------------
    def catalog_documents(self) -> list[dict[str, Any]]:
        return [row[0] for row in self._rows("SELECT data FROM catalogs ORDER BY seq")]

    def catalog_set(self, documents: Sequence[dict[str, Any]]) -> None:
        encoded = [(_dumps(document),) for document in documents]
        with self._write() as db:
            db.execute("DELETE FROM catalogs")
            with db.cursor() as cursor:
                cursor.executemany("INSERT INTO catalogs (data) VALUES (%s)", encoded)
            self._bump_generation(db)
