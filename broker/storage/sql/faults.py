"""Fault rules and their counters, in the SQL both databases share."""

from __future__ import annotations

import json
import uuid
from typing import Any

from broker.storage.sql.database import Connection, Database
from broker.storage.sql.meta import Generation

__all__ = ["FaultRules"]

SEED_PREFIX = "fault_seed:"


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


class FaultRules:
    """:class:`~broker.storage.protocols.FaultStore` over a database."""

    def __init__(self, database: Database, generation: Generation) -> None:
        self._database = database
        self._bump = generation.bump
        dialect = database.dialect
        sql = dialect.sql
        self._delete_one = sql("DELETE FROM faults WHERE id = ?")
        self._insert = sql("INSERT INTO faults (id, data) VALUES (?, ?)")
        self._insert_missing = sql(
            "INSERT INTO faults (id, data) VALUES (?, ?) ON CONFLICT (id) DO NOTHING"
        )
        self._delete_of_origin = sql(
            f"DELETE FROM faults WHERE coalesce({dialect.json_text('data', 'origin')}, 'admin') = ?"
        )
        self._catalog_rules = sql(
            f"SELECT id FROM faults WHERE {dialect.json_text('data', 'origin')} = 'catalog'"
        )
        self._hit = sql("UPDATE faults SET calls = calls + 1 WHERE id = ? RETURNING calls")
        self._fired = sql("UPDATE faults SET fired = fired + 1 WHERE id = ?")
        self._mark_seeded = sql(
            "INSERT INTO meta (key, value) VALUES (?, 1) ON CONFLICT (key) DO NOTHING"
        )

    def fault_add(self, rule: dict[str, Any]) -> str:
        rule_id = rule.get("id") or f"fault-{uuid.uuid4().hex[:12]}"
        stored = {key: value for key, value in rule.items() if key not in ("calls", "fired")}
        with self._database.transaction() as db:
            # Like a new rule: fresh counters, last in creation order.
            db.execute(self._delete_one, (rule_id,))
            db.execute(self._insert, (rule_id, _dumps({**stored, "id": rule_id})))
            self._bump(db)
        return rule_id

    def fault_list(self) -> list[dict[str, Any]]:
        rows = self._database.rows("SELECT data, calls, fired FROM faults ORDER BY seq")
        return [
            {**json.loads(data), "calls": int(calls), "fired": int(fired)}
            for data, calls, fired in rows
        ]

    def fault_delete(self, rule_id: str) -> bool:
        with self._database.transaction() as db:
            deleted = db.execute(self._delete_one, (rule_id,)).rowcount
            self._bump(db)
        return bool(deleted)

    def fault_delete_all(self, origin: str | None = None) -> int:
        with self._database.transaction() as db:
            if origin is None:
                deleted = db.execute("DELETE FROM faults", ()).rowcount
            else:
                deleted = db.execute(self._delete_of_origin, (origin,)).rowcount
            self._bump(db)
        return int(deleted)

    def fault_hit(self, rule_id: str) -> int:
        row = self._database.write(self._hit, (rule_id,)).row
        return int(row[0]) if row else 0

    def fault_fired(self, rule_id: str) -> None:
        self._database.write(self._fired, (rule_id,))

    def fault_seed(self, rules: list[dict[str, Any]], marker: str) -> None:
        with self._database.transaction() as db:
            # A concurrent seeder with the same marker waits for this transaction,
            # then finds the marker.
            if not db.execute(self._mark_seeded, (SEED_PREFIX + marker,)).rowcount:
                return
            wanted = {rule["id"] for rule in rules}
            for (rule_id,) in db.execute(self._catalog_rules, ()).fetchall():
                if rule_id not in wanted:
                    db.execute(self._delete_one, (rule_id,))
            for rule in rules:
                db.execute(self._insert_missing, (rule["id"], _dumps(rule)))
            self._bump(db)

    @staticmethod
    def clear(db: Connection) -> None:
        """Forget every rule and seed marker, in the caller's transaction."""
        db.execute("DELETE FROM faults", ())
        db.execute(f"DELETE FROM meta WHERE substr(key, 1, {len(SEED_PREFIX)}) = 'fault_seed:'", ())
