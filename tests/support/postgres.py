"""A throw-away PostgreSQL schema per test: the store URL to use, dropped afterwards."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from tests.support.services import service_url


def with_schema(url: str, schema: str) -> str:
    parts = urlsplit(url)
    query = [(key, value) for key, value in parse_qsl(parts.query) if key != "schema"]
    return urlunsplit(parts._replace(query=urlencode([*query, ("schema", schema)])))


@contextmanager
def fresh_schema(prefix: str = "mbtest") -> Iterator[str]:
    """A ``postgresql://…?schema=<unique>`` store URL; the schema is dropped on exit.

    Skips the test (fails it when CI=true) if PostgreSQL does not answer.
    """
    base = service_url("postgres")
    schema = f"{prefix}_{secrets.token_hex(6)}"
    try:
        yield with_schema(base, schema)
    finally:
        with psycopg.connect(base, autocommit=True) as connection:
            connection.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
            )
