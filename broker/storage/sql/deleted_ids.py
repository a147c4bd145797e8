"""Deleted ids (:mod:`broker.storage.deleted_ids`) in a table per kind, in the SQL both
databases share.

``seq`` is the order the ids were remembered in: remembering one gives it the next
number (a re-deleted id moves; ``prior`` keeps the number it had, so that taking it
back puts it where it was). The bound is the newest ``keep`` numbers (a number may be
missing, so it keeps at most ``keep`` ids); the rows before it are dropped a range at
a time, every :data:`~broker.storage.deleted_ids.TRIM_EVERY` numbers, never by a scan.
"""

from __future__ import annotations

from broker.storage.deleted_ids import DELETED_KINDS, TRIM_EVERY, Remembered
from broker.storage.sql.database import Connection, Database, Statement, Written

__all__ = ["DeletedIdTables"]

TABLES = {"instance": "deleted_instances", "binding": "deleted_bindings"}
assert set(TABLES) == set(DELETED_KINDS)

# The next number of a table, for a row that moves: SQLite numbers rows max + 1
# (what a new row gets too), PostgreSQL from the column's sequence (concurrent
# writers never get the same one).
NEXT_SEQ = {"sqlite": "(SELECT max(seq) FROM {table}) + 1", "postgresql": "excluded.seq"}
REMEMBER = (
    "INSERT INTO {table} (id) VALUES (?) ON CONFLICT (id) "
    "DO UPDATE SET seq = {next_seq}, prior = {table}.seq RETURNING seq, prior"
)
# Within the bound: among the newest ``keep`` numbers.
NEWEST = "id = ? AND seq > (SELECT max(seq) FROM {table}) - ?"


class DeletedIdTables:
    """:class:`~broker.storage.protocols.DeletedIdStore` over a database."""

    def __init__(self, database: Database) -> None:
        self._database = database
        dialect = database.dialect
        sql = dialect.sql
        next_seq = NEXT_SEQ[dialect.name]
        self._remember = {
            kind: sql(REMEMBER.format(table=table, next_seq=next_seq.format(table=table)))
            for kind, table in TABLES.items()
        }
        self._find = {
            kind: sql(f"SELECT 1 FROM {table} WHERE " + NEWEST.format(table=table))  # noqa: S608
            for kind, table in TABLES.items()
        }
        self._take = {
            kind: sql(f"DELETE FROM {table} WHERE " + NEWEST.format(table=table))  # noqa: S608
            for kind, table in TABLES.items()
        }
        self._trim = {
            kind: sql(f"DELETE FROM {table} WHERE seq <= ?")  # noqa: S608
            for kind, table in TABLES.items()
        }
        self._drop = {
            kind: sql(f"DELETE FROM {table} WHERE id = ? AND seq = ?")  # noqa: S608
            for kind, table in TABLES.items()
        }
        self._move_back = {
            kind: sql(f"UPDATE {table} SET seq = ?, prior = NULL WHERE id = ? AND seq = ?")  # noqa: S608
            for kind, table in TABLES.items()
        }

    def remembering(self, kind: str, resource_id: str) -> Statement:
        """The statement that remembers an id (for a write of several statements)."""
        return self._remember[kind], (resource_id,)

    @staticmethod
    def remembered(kind: str, resource_id: str, written: Written) -> Remembered:
        """What :meth:`remembering`'s statement did, from what it answered."""
        assert written.row is not None
        seq, prior = written.row
        return Remembered(kind, resource_id, int(seq), None if prior is None else int(prior))

    def remember_deleted(self, kind: str, resource_id: str) -> Remembered:
        statement, parameters = self.remembering(kind, resource_id)
        return self.remembered(kind, resource_id, self._database.write(statement, parameters))

    def settle_deleted(self, remembered: Remembered, keep: int, stands: bool) -> None:
        kind, seq = remembered.kind, remembered.seq
        if stands:
            if seq > keep and seq % TRIM_EVERY == 0:
                self._database.write(self._trim[kind], (seq - keep,))
        elif remembered.prior is None:
            self._database.write(self._drop[kind], (remembered.id, seq))
        else:
            self._database.write(self._move_back[kind], (remembered.prior, remembered.id, seq))

    def take_deleted(self, kind: str, resource_id: str, keep: int) -> bool:
        # Read first: a create seldom reuses an id, and a read costs less than a write.
        if self._database.row(self._find[kind], (resource_id, keep)) is None:
            return False
        return self._database.write(self._take[kind], (resource_id, keep)).rowcount > 0

    def clear_deleted(self) -> None:
        self._database.write_all([(f"DELETE FROM {table}", ()) for table in TABLES.values()])  # noqa: S608

    @staticmethod
    def clear(db: Connection) -> None:
        """Forget every deleted id, in the caller's transaction."""
        for table in TABLES.values():
            db.execute(f"DELETE FROM {table}", ())  # noqa: S608 (a fixed table name)
