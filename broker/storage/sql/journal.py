"""What the journal's SQL shares: the filters of ``GET /admin/requests``."""

from __future__ import annotations

from typing import Any

from broker.storage.base import JournalQuery
from broker.storage.sql.dialect import Dialect

__all__ = ["JOURNAL_COLUMNS", "journal_select"]

JOURNAL_COLUMNS = ("operation", "instance_id", "binding_id", "method", "status")


def journal_select(
    query: JournalQuery, dialect: Dialect, columns: str, joined: str = ""
) -> tuple[str, list[Any]]:
    """The statement selecting ``columns`` of the entries ``query`` asks for (the
    newest ``limit`` ones, or the oldest since a point when it has one), and its
    parameters. Rows come in id order for a forward query, else newest first."""
    where: list[str] = []
    parameters: list[Any] = []
    for column in JOURNAL_COLUMNS:
        value = getattr(query, column)
        if value is not None:
            where.append(f"journal.{column} = ?")
            parameters.append(value)
    for condition, value in (
        ("journal.id > ?", query.since_id),
        ("journal.epoch >= ?", query.since_time),
        ("journal.id < ?", query.before_id),
    ):
        if value is not None:
            where.append(condition)
            parameters.append(value)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    order = "ASC" if query.forward else "DESC"
    parameters.append(max(query.limit, 0))
    statement = f"SELECT {columns} FROM journal{joined}{clause} ORDER BY journal.id {order} LIMIT ?"
    return dialect.sql(statement), parameters
