"""``postgresql://…``: one database shared by every worker of every broker replica.

URL: a libpq URL plus one option of our own, ``schema`` (default ``mockbroker``),
the PostgreSQL schema holding the broker's tables::

    postgresql://user:password@db.example:5432/broker?schema=ci_run_42&sslmode=require

Replicas that should act as one broker use the same database *and* schema; a
different schema on the same database is a separate broker (handy to isolate
test runs). The schema is created if missing (which needs the ``CREATE``
privilege on the database; an existing schema only needs ``USAGE`` and
``CREATE`` on itself).

* The store is the SQL parts (:mod:`broker.storage.sql`) over one
  :class:`~broker.storage.postgres_sessions.PostgresDatabase` (connections per
  thread, advisory locks), with the journal of :mod:`broker.storage.postgres_journal`.
* Schema: created or migrated on start (:mod:`broker.storage.postgres_schema`).
* Do not put a transaction-pooling proxy (PgBouncer ``pool_mode=transaction``)
  in front of it: session advisory locks need a session.
"""

from __future__ import annotations

import re
import zlib
from contextlib import AbstractContextManager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Imported here, first: without psycopg this module cannot be imported at all.
import psycopg  # noqa: F401

from broker.storage.base import JournalQuery, StoreUnavailable
from broker.storage.parts import JOURNAL, lend, methods_of
from broker.storage.postgres_journal import PostgresJournal
from broker.storage.postgres_schema import SCHEMA_VERSION, migrate
from broker.storage.postgres_sessions import LOCK_BASE, PostgresDatabase, int32
from broker.storage.sql import SQLParts
from broker.storage.urls import redacted_url

__all__ = [
    "DEFAULT_SCHEMA",
    "LOCK_BASE",
    "SCHEMA_VERSION",
    "PostgresStore",
    "parse_postgres_url",
]

DEFAULT_SCHEMA = "mockbroker"
SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


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


class PostgresStore(SQLParts):
    def __init__(self, url: str) -> None:
        self.url = redacted_url(url)
        libpq_url, self.schema = parse_postgres_url(url)
        self._database = PostgresDatabase(libpq_url, self.schema, self.url)
        # This thread's connection, and a transaction on it (for the platform checks'
        # tables, which live in the same schema).
        self._db = self._database.session
        self._write = self._database.transaction
        lend(self, PostgresStore, {"lock": self._database.lock})
        schema_key = int32(zlib.crc32(self.schema.encode()))
        super().__init__(self._database)
        self._journal = PostgresJournal(self._database, schema_key)
        lend(self, PostgresStore, methods_of(self._journal, JOURNAL))
        try:
            migrate(self._database, schema_key)
        except BaseException:
            self.close()
            raise

    def check(self) -> None:
        row = self._database.row("SELECT value FROM meta WHERE key = 'schema_version'")
        if row is None or int(row[0]) != SCHEMA_VERSION:
            found = row[0] if row else "none"
            raise StoreUnavailable(
                self._database.describe(
                    RuntimeError(f"schema version {found}, expected {SCHEMA_VERSION}")
                )
            )

    def close(self) -> None:
        self._database.close()

    def reset(self, keep_journal: bool = False) -> None:
        with self._database.transaction() as db:
            self._clear_parts(db)
            if not keep_journal:
                self._journal.clear(db)

    def lock(self, key: str) -> AbstractContextManager[None]:
        return self._database.lock(key)

    # --- journal ----------------------------------------------------------------------
    def journal_append(
        self, entry: dict[str, Any], limit: int, max_bytes: int | None = None
    ) -> int:
        return self._journal.journal_append(entry, limit, max_bytes)

    def journal_query(self, query: JournalQuery) -> list[dict[str, Any]]:
        return self._journal.journal_query(query)

    def journal_clear(self) -> None:
        self._journal.journal_clear()
