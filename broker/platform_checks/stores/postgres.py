"""Findings and watches in the PostgreSQL store's schema (``postgresql://`` stores).

The tables sit beside the broker's own and are reached through the state store's
connections (one per thread and process, search_path set to its schema), so every
replica sharing the schema shares the findings too.
"""

from __future__ import annotations

import json
from typing import Any

from psycopg.types.json import Json

from broker.platform_checks.findings_store import FindingsQuery, NewFinding, merged
from broker.storage.postgres import LOCK_BASE, PostgresStore

__all__ = ["PostgresFindings"]

MIGRATION_LOCK = LOCK_BASE + 0x200
SCHEMA = """
CREATE TABLE IF NOT EXISTS platform_findings (
    rule TEXT NOT NULL,
    instance_key TEXT NOT NULL,
    binding_key TEXT NOT NULL,
    first_seen DOUBLE PRECISION NOT NULL,
    data JSONB NOT NULL,
    PRIMARY KEY (rule, instance_key, binding_key)
);
CREATE TABLE IF NOT EXISTS platform_watches (
    key TEXT PRIMARY KEY,
    value JSONB NOT NULL,
    due DOUBLE PRECISION
);
CREATE INDEX IF NOT EXISTS platform_watches_due ON platform_watches (due)
    WHERE due IS NOT NULL;
"""


def _loaded(value: Any) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(value) if isinstance(value, str) else value
    return found


class PostgresFindings:
    def __init__(self, store: PostgresStore) -> None:
        self._store = store
        with store._write() as db:
            db.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            db.execute(SCHEMA)

    def record(self, finding: NewFinding) -> bool:
        rule, instance_key, binding_key = finding.key
        with self._store._write() as db:
            row = db.execute(
                "SELECT data FROM platform_findings "
                "WHERE rule = %s AND instance_key = %s AND binding_key = %s FOR UPDATE",
                (rule, instance_key, binding_key),
            ).fetchone()
            stored = _loaded(row[0]) if row else None
            data = Json(merged(stored, finding))
            if stored is None:
                # Two first sightings at once: the second one counts as a repeat.
                inserted = db.execute(
                    "INSERT INTO platform_findings VALUES (%s, %s, %s, %s, %s) "
                    "ON CONFLICT DO NOTHING",
                    (rule, instance_key, binding_key, finding.time, data),
                ).rowcount
                if inserted:
                    return True
                row = db.execute(
                    "SELECT data FROM platform_findings "
                    "WHERE rule = %s AND instance_key = %s AND binding_key = %s FOR UPDATE",
                    (rule, instance_key, binding_key),
                ).fetchone()
                assert row is not None
                data = Json(merged(_loaded(row[0]), finding))
            db.execute(
                "UPDATE platform_findings SET data = %s "
                "WHERE rule = %s AND instance_key = %s AND binding_key = %s",
                (data, rule, instance_key, binding_key),
            )
            return False

    def findings(self, query: FindingsQuery) -> list[dict[str, Any]]:
        sql, args = "SELECT data FROM platform_findings", []
        if query.instance_id is not None:
            sql, args = sql + " WHERE instance_key = %s", [query.instance_id]
        with self._store._db() as db:
            rows = db.execute(sql + " ORDER BY first_seen", args).fetchall()
        return [found for (data,) in rows if query.matches(found := _loaded(data))]

    def clear(self) -> None:
        with self._store._write() as db:
            db.execute("DELETE FROM platform_findings")
            db.execute("DELETE FROM platform_watches")

    def watch_get(self, key: str) -> dict[str, Any] | None:
        with self._store._db() as db:
            row = db.execute("SELECT value FROM platform_watches WHERE key = %s", (key,)).fetchone()
        return _loaded(row[0]) if row else None

    def watch_put(self, key: str, value: dict[str, Any], due: float | None = None) -> None:
        with self._store._db() as db:
            db.execute(
                "INSERT INTO platform_watches VALUES (%s, %s, %s) ON CONFLICT (key) "
                "DO UPDATE SET value = excluded.value, due = excluded.due",
                (key, Json(value), due),
            )

    def watch_take(self, key: str) -> dict[str, Any] | None:
        with self._store._db() as db:
            row = db.execute(
                "DELETE FROM platform_watches WHERE key = %s RETURNING value", (key,)
            ).fetchone()
        return _loaded(row[0]) if row else None

    def take_due(self, now: float, limit: int = 100) -> list[tuple[str, dict[str, Any]]]:
        with self._store._db() as db:
            rows = db.execute(
                "DELETE FROM platform_watches WHERE key IN (SELECT key FROM platform_watches "
                "WHERE due IS NOT NULL AND due <= %s ORDER BY due LIMIT %s "
                "FOR UPDATE SKIP LOCKED) RETURNING key, value",
                (now, limit),
            ).fetchall()
        return [(key, _loaded(value)) for key, value in rows]

    def close(self) -> None:
        return None
