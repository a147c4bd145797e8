"""The request journal of the PostgreSQL store, in the broker's schema.

Written with ``synchronous_commit = off`` (recording a request must not wait for a
WAL flush) and under a transaction-level advisory lock, so entry ids become
visible in increasing order: a reader following ``since_id`` never skips an entry
that commits late.
"""

from __future__ import annotations

import json
from typing import Any

from broker.journal.retention import CHECK_EVERY, bytes_to_free
from broker.storage.base import JournalQuery
from broker.storage.postgres_sessions import LOCK_BASE, PostgresDatabase
from broker.storage.sql import Connection, journal_select

__all__ = ["PostgresJournal"]

JOURNAL_LOCK = LOCK_BASE + 0x101

# One statement, so one round trip on the hot path of every request:
# * the advisory lock is taken before the row (and its id) is made, and held
#   until commit, so ids become visible in increasing order and a reader
#   following since_id never skips an entry that commits late;
# * synchronous_commit is off for this transaction only: recording a request
#   does not wait for a WAL flush;
# * the running total of the entries' sizes (journal_total) follows
#   what is added and what the count limit trims, under the same lock.
APPEND = (
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
    "SELECT (SELECT id FROM added), (SELECT bytes FROM total)"
)
TRIM = (
    "WITH cut AS (SELECT id FROM (SELECT id, SUM(size) OVER (ORDER BY id) AS running "
    "FROM journal) AS oldest WHERE running >= %s ORDER BY id LIMIT 1), "
    "trimmed AS (DELETE FROM journal WHERE id <= (SELECT id FROM cut) RETURNING size) "
    "UPDATE journal_total SET bytes = bytes - (SELECT COALESCE(SUM(size), 0) "
    "FROM trimmed)"
)


class PostgresJournal:
    """:class:`~broker.storage.protocols.JournalStore` in the store's schema."""

    def __init__(self, database: PostgresDatabase, schema_key: int) -> None:
        self._database = database
        self._schema_key = schema_key

    def journal_append(
        self, entry: dict[str, Any], limit: int, max_bytes: int | None = None
    ) -> int:
        data = json.dumps(entry, separators=(",", ":"))
        row = self._database.write(
            APPEND,
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
        ).row
        assert row is not None
        entry_id, stored = int(row[0]), int(row[1] or 0)
        if max_bytes and entry_id % CHECK_EVERY == 0:
            excess = bytes_to_free(stored, max_bytes)
            if excess:
                self._trim(excess)
        return entry_id

    def _trim(self, excess: int) -> None:
        """Drop the oldest entries holding at least ``excess`` bytes (retention)."""
        with self._database.transaction() as db:
            db.execute("SELECT pg_advisory_xact_lock(%s, %s)", (JOURNAL_LOCK, self._schema_key))
            db.execute(TRIM, (excess,))

    def clear(self, db: Connection) -> None:
        """Forget every entry, in the caller's transaction."""
        db.execute("SELECT pg_advisory_xact_lock(%s, %s)", (JOURNAL_LOCK, self._schema_key))
        db.execute("DELETE FROM journal", None)
        db.execute("UPDATE journal_total SET bytes = 0", None)

    def journal_query(self, query: JournalQuery) -> list[dict[str, Any]]:
        statement, parameters = journal_select(
            query, self._database.dialect, "journal.id, journal.data"
        )
        rows = self._database.rows(statement, parameters)
        if not query.forward:
            rows.reverse()
        return [{**json.loads(data), "id": int(entry_id)} for entry_id, data in rows]

    def journal_clear(self) -> None:
        with self._database.transaction() as db:
            self.clear(db)
