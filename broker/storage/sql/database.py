"""What the SQL parts need of a database: reads, writes, transactions (one per backend).

:class:`broker.storage.sqlite_database.SQLiteDatabase` and
:class:`broker.storage.postgres_sessions.PostgresDatabase` implement it; every part of
one store shares one such object, so they share its connections and transactions.
Errors come out as the store contract wants them: a database that cannot serve
raises :class:`~broker.storage.base.StoreUnavailable`.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, NamedTuple, Protocol

from broker.storage.sql.dialect import Dialect

__all__ = ["Connection", "Database", "Statement", "Written"]

# A statement in its dialect and its parameters.
Statement = tuple[str, Sequence[Any]]


class Written(NamedTuple):
    """What one write statement did: rows it changed, and its first ``RETURNING`` row."""

    rowcount: int
    row: tuple[Any, ...] | None


class Connection(Protocol):
    """The part of a DB-API connection the parts use inside a transaction."""

    def execute(self, statement: str, parameters: Any, /) -> Any: ...


class Database(Protocol):
    dialect: Dialect

    def rows(self, statement: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Every row a read answers (a read may be retried on a fresh connection)."""

    def row(self, statement: str, parameters: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        """The first row a read answers, if any."""

    def write(self, statement: str, parameters: Sequence[Any] = ()) -> Written:
        """One statement, atomic on its own, committed (durably) when this returns.

        Never retried: a lost answer must not apply the write twice."""

    def write_all(self, statements: Sequence[Statement]) -> Written:
        """Every statement or none, in one transaction, committed when this returns;
        what the last one did."""

    def transaction(self) -> AbstractContextManager[Connection]:
        """A write transaction of the caller's own: committed when the block ends,
        rolled back if it raises."""
