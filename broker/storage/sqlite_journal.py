"""The request journal of the SQLite store, in a file of its own (``broker.journal.db``).

* ``synchronous=NORMAL`` whatever the state's setting: recording a request must not
  cost an fsync, and losing the last journal lines on power loss is harmless.
* Entries that repeat a response already recorded (the catalog, mostly) store it
  once, in ``journal_responses``; queries put it back in place.
* The journal keeps to its byte budget (:mod:`broker.journal.retention`): its file
  uses ``auto_vacuum=INCREMENTAL``, so pages freed by trimming go back to the file
  system, and its write-ahead log is truncated after checkpoints.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
from collections import OrderedDict
from typing import Any

from broker.journal.retention import CHECK_EVERY, bytes_to_free, releasable
from broker.storage.base import JournalQuery
from broker.storage.sql import journal_select
from broker.storage.sqlite_database import SQLiteDatabase, use_wal

__all__ = ["JOURNAL_SCHEMA", "JOURNAL_WAL_LIMIT", "SQLiteJournal"]

log = logging.getLogger("broker.storage")

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
# The write-ahead log of the journal is cut back to this after a checkpoint.
JOURNAL_WAL_LIMIT = 4 * 1024 * 1024

INSERT_RESPONSE = (
    "INSERT INTO journal_responses (digest, data) VALUES (?, ?) ON CONFLICT DO NOTHING"
)
INSERT_ENTRY = (
    "INSERT INTO journal (epoch, method, operation, instance_id, binding_id, status, "
    "data, response_digest, size) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
SWEEP_RESPONSES = (
    "DELETE FROM journal_responses WHERE digest NOT IN "
    "(SELECT response_digest FROM journal WHERE response_digest IS NOT NULL)"
)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


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


class SQLiteJournal:
    """:class:`~broker.storage.protocols.JournalStore` over the journal's own database."""

    def __init__(self, database: SQLiteDatabase) -> None:
        self._database = database
        self._responses = _SharedResponses()

    def migrate(self) -> None:
        self.release_space(vacuum_older=True)
        with self._database.transaction() as journal:
            for statement in JOURNAL_SCHEMA.split(";"):
                if statement.strip():
                    journal.execute(statement)
            columns = {row[1] for row in journal.execute("PRAGMA table_info(journal)")}
            for column in ("response_digest TEXT", "size INTEGER"):
                if column.split()[0] not in columns:  # a journal written by an older version
                    journal.execute(f"ALTER TABLE journal ADD COLUMN {column}")

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
                db.execute(INSERT_RESPONSE, shared)
            entry_id = int(db.execute(INSERT_ENTRY, row).lastrowid or 0)
            db.execute("DELETE FROM journal WHERE id <= ?", (entry_id - limit,))
            if entry_id % SWEEP_EVERY == 0:
                db.execute(SWEEP_RESPONSES)
            if max_bytes and entry_id % CHECK_EVERY == 0:
                return entry_id, _keep_within(db, max_bytes)
            return entry_id, False

        entry_id, release = self._database.run(append)
        if release:
            self.release_space()
        return entry_id

    def journal_query(self, query: JournalQuery) -> list[dict[str, Any]]:
        statement, parameters = journal_select(
            query,
            self._database.dialect,
            "journal.id, journal.data, journal_responses.data",
            " LEFT JOIN journal_responses ON journal_responses.digest = journal.response_digest",
        )
        rows = self._database.rows(statement, parameters)
        if not query.forward:
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
        with self._database.transaction() as db:
            db.execute("DELETE FROM journal")
            db.execute("DELETE FROM journal_responses")
        self.release_space()

    def release_space(self, vacuum_older: bool = False) -> None:
        """Give the journal file's free pages back to the file system.

        Best effort: the entries are gone already, only the file stays larger than it
        needs to be when this fails (on a full disk, say). A journal file made by an
        older version has no incremental vacuum: with ``vacuum_older`` it is switched
        over (a full VACUUM, once; it needs room for a copy of the file).
        """
        connection = sqlite3.connect(self._database.path, timeout=30, isolation_level=None)
        try:
            connection.execute("PRAGMA busy_timeout=30000")
            if vacuum_older and connection.execute("PRAGMA auto_vacuum").fetchone()[0] != 2:
                connection.execute("PRAGMA auto_vacuum=INCREMENTAL")
                connection.execute("VACUUM")
            use_wal(connection, timeout=30)
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


def _keep_within(db: sqlite3.Connection, max_bytes: int) -> bool:
    """Trim the oldest entries over the byte budget (retention); whether to release
    the free pages (after the commit: see :meth:`SQLiteJournal.release_space`)."""
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
            db.execute(SWEEP_RESPONSES)
        free = db.execute("PRAGMA freelist_count").fetchone()[0]
    return releasable(free * page_size, max_bytes)
