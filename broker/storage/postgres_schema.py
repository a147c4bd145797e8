"""The PostgreSQL store's tables, and how a schema is brought up to date.

Created or migrated on start, under an advisory lock, so replicas starting
together never race; ``meta.schema_version`` says which version the tables have,
and a newer one than this code knows is refused.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from broker.storage.base import StoreUnavailable
from broker.storage.postgres_sessions import LOCK_BASE, PostgresDatabase

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "migrate"]

MIGRATION_LOCK = LOCK_BASE + 0x100

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


def migrate(database: PostgresDatabase, schema_key: int) -> None:
    """Create the schema and its tables, or bring them to :data:`SCHEMA_VERSION`."""
    schema = database.schema
    with database.transaction() as db:
        db.execute("SELECT pg_advisory_xact_lock(%s, %s)", (MIGRATION_LOCK, schema_key))
        if db.execute("SELECT to_regnamespace(%s)", (schema,)).fetchone() == (None,):
            try:
                db.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
            except psycopg.errors.InsufficientPrivilege as exc:
                raise StoreUnavailable(
                    database.describe(exc) + " (create the schema or choose one with ?schema=)"
                ) from exc
        version = 0
        if db.execute("SELECT to_regclass(%s)", (f"{schema}.meta",)).fetchone() != (None,):
            row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            version = int(row[0]) if row else 0
        if version > SCHEMA_VERSION:
            raise StoreUnavailable(
                database.describe(
                    RuntimeError(f"written by a newer mockbroker (schema version {version})")
                )
            )
        for script in MIGRATIONS[version:]:
            db.execute(script)
        db.execute("UPDATE meta SET value = %s WHERE key = 'schema_version'", (SCHEMA_VERSION,))
