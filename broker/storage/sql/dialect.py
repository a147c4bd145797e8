"""What differs between the SQL of SQLite and of PostgreSQL, in one small object each.

The statements of :mod:`broker.storage.sql` are written once, with ``?`` for each
parameter; :meth:`Dialect.sql` turns one into the dialect's text (once, when a part
is built, for the fixed ones). Both databases accept the rest as written: row values,
``ON CONFLICT ... DO UPDATE/DO NOTHING`` upserts, ``RETURNING``, ``EXISTS``.

What is not a matter of SQL text stays with each backend's
:class:`~broker.storage.sql.database.Database`: locking (SQLite's ``BEGIN
IMMEDIATE`` behind a group commit and ``flock`` stripes, PostgreSQL's advisory
locks), and types (both answer JSON columns as text, which the parts decode; the
tables' own types are in each backend's schema).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["POSTGRES", "SQLITE", "Dialect"]


@dataclass(frozen=True)
class Dialect:
    name: str
    # How a parameter is written; "?" in the shared statements stands for it.
    placeholder: str
    # A JSON member of a column as text, and as a number: {column}, {key}.
    json_text_template: str
    json_number_template: str
    # Equality that also holds between two NULLs.
    null_safe_equal: str

    def sql(self, statement: str) -> str:
        """``statement`` (parameters written ``?``) as this dialect writes it."""
        if self.placeholder == "?":
            return statement
        # "%" is the escape of psycopg's placeholders: a literal one is doubled.
        return statement.replace("%", "%%").replace("?", self.placeholder)

    def json_text(self, column: str, key: str) -> str:
        return self.json_text_template.format(column=column, key=key)

    def json_number(self, column: str, key: str) -> str:
        return self.json_number_template.format(column=column, key=key)


SQLITE = Dialect(
    name="sqlite",
    placeholder="?",
    json_text_template="json_extract({column}, '$.{key}')",
    json_number_template="json_extract({column}, '$.{key}')",
    null_safe_equal="IS",
)

POSTGRES = Dialect(
    name="postgresql",
    placeholder="%s",
    json_text_template="{column}->>'{key}'",
    json_number_template="({column}->>'{key}')::float8",
    null_safe_equal="IS NOT DISTINCT FROM",
)
