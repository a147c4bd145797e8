"""The ``meta`` table: the generation number every worker follows, fault seed markers."""

from __future__ import annotations

from broker.storage.sql.database import Connection, Database

__all__ = ["Generation"]

READ = "SELECT value FROM meta WHERE key = 'generation'"
BUMP = "UPDATE meta SET value = value + 1 WHERE key = 'generation'"


class Generation:
    """:meth:`~broker.storage.protocols.Coordinated.generation`, and what changes it."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def generation(self) -> int:
        row = self._database.row(READ)
        return int(row[0]) if row else 0

    @staticmethod
    def bump(db: Connection) -> None:
        """Announce a change of catalog documents or fault rules (in its transaction)."""
        db.execute(BUMP, ())
