"""Real backing services (PostgreSQL, MariaDB, Redis), each in a namespace of the run's own.

``BROKER_TEST_POSTGRES_URL``, ``BROKER_TEST_MYSQL_URL`` and ``BROKER_TEST_REDIS_URL``
(default: the local servers' administrator) are used for one thing: on first use,
each test process creates an account and a database of its own, named
``mockbroker_test_<run>``:

* PostgreSQL: a role with ``LOGIN CREATEDB CREATEROLE`` and ``pg_signal_backend`` (the
  least the ``postgres`` backend needs, not a superuser) owning a database, where the
  stores' schemas live;
* MariaDB: a user with the privileges the ``mysql`` backend documents, and a database;
* Redis: an ACL user.

The tests get URLs of that account (:func:`service_url`); the ids they use carry the
run's token (:data:`RUN`, via :func:`tests.support.leftovers.unique`), so every
database, role, user and key prefix the backends make for them does too. At the end
of the session :func:`finish_run` lists what the run left (it must be nothing),
removes it anyway, then drops the account and its database. A server that does not
answer skips the tests that need it, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import pytest

__all__ = ["DEFAULTS", "NAMESPACE", "RUN", "finish_run", "service_url"]

DEFAULTS = {
    "postgres": ("BROKER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    "mysql": ("BROKER_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test"),
    "redis": ("BROKER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
}
# In the name of everything this test process creates on a shared server.
RUN = secrets.token_hex(3)
NAMESPACE = f"mockbroker_test_{RUN}"


def _skip_or_fail(message: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def admin_url(name: str) -> str:
    """The URL given for a server (the administrator's), after checking that it answers."""
    variable, default = DEFAULTS[name]
    url = os.environ.get(variable, default)
    parsed = urlsplit(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or 0), timeout=2
        ):
            pass
    except OSError as exc:
        _skip_or_fail(
            f"{name} is not reachable at {parsed.hostname}:{parsed.port} ({exc}); set {variable}"
        )
    return url


def _with_account(url: str, user: str, password: str, path: str | None = None) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc, path=parts.path if path is None else path))


# --- one namespace per server ----------------------------------------------------------


@dataclass
class _Namespace:
    """A server's account of this run: how to create it, list its leftovers, drop it."""

    create: Callable[[str, str], str]  # (admin URL, password) -> the run's URL
    leftovers: Callable[[str], list[str]]  # admin URL -> what the run left
    drop: Callable[[str, list[str]], None]  # admin URL, leftovers -> None
    url: str | None = None
    admin: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


def _postgres_create(admin: str, password: str) -> str:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin, autocommit=True) as db:
        db.execute(
            sql.SQL("CREATE ROLE {} LOGIN CREATEDB CREATEROLE PASSWORD {}").format(
                sql.Identifier(NAMESPACE), sql.Literal(password)
            )
        )
        db.execute(sql.SQL("GRANT pg_signal_backend TO {}").format(sql.Identifier(NAMESPACE)))
        db.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(NAMESPACE), sql.Identifier(NAMESPACE)
            )
        )
    return _with_account(admin, NAMESPACE, password, f"/{NAMESPACE}")


def _postgres_leftovers(admin: str) -> list[str]:
    import psycopg

    pattern = f"%{RUN}%"
    with psycopg.connect(admin, autocommit=True) as db:
        found = [
            f"PostgreSQL database {name}"
            for (name,) in db.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s AND datname <> %s",
                (pattern, NAMESPACE),
            )
        ]
        found += [
            f"PostgreSQL role {name}"
            for (name,) in db.execute(
                "SELECT rolname FROM pg_roles WHERE rolname LIKE %s AND rolname <> %s",
                (pattern, NAMESPACE),
            )
        ]
    with psycopg.connect(_with_database(admin, NAMESPACE), autocommit=True) as db:
        found += [
            f"PostgreSQL schema {name} in {NAMESPACE}"
            for (name,) in db.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%%'"
                " AND nspname NOT IN ('public', 'information_schema')"
            )
        ]
    return found


def _with_database(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def _postgres_drop(admin: str, leftovers: list[str]) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin, autocommit=True) as db:
        for item in leftovers:
            kind, name = item.split()[1:3]
            if kind == "database":
                db.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
        db.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(NAMESPACE))
        )
        roles = [item.split()[2] for item in leftovers if item.split()[1] == "role"]
        for role in [*roles, NAMESPACE]:
            db.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def _mysql_connect(url: str) -> Any:
    import pymysql

    parts = urlsplit(url)
    return pymysql.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 3306,
        user=unquote(parts.username or "root"),
        password=unquote(parts.password or ""),
        autocommit=True,
    )


def _mysql_run(url: str, *statements: tuple[str, tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    connection = _mysql_connect(url)
    rows: list[tuple[Any, ...]] = []
    try:
        with connection.cursor() as cursor:
            for statement, params in statements:
                cursor.execute(statement, params or None)
                rows.extend(cursor.fetchall())
    finally:
        connection.close()
    return rows


def _mysql_create(admin: str, password: str) -> str:
    _mysql_run(
        admin,
        ("CREATE USER %s@'%%' IDENTIFIED BY %s", (NAMESPACE, password)),
        (f"GRANT ALL PRIVILEGES ON *.* TO `{NAMESPACE}`@'%' WITH GRANT OPTION", ()),
        (f"CREATE DATABASE `{NAMESPACE}`", ()),
    )
    return _with_account(admin, NAMESPACE, password, f"/{NAMESPACE}")


def _mysql_leftovers(admin: str) -> list[str]:
    pattern = f"%{RUN}%"
    databases = _mysql_run(
        admin,
        (
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA"
            " WHERE SCHEMA_NAME LIKE %s AND SCHEMA_NAME <> %s",
            (pattern, NAMESPACE),
        ),
    )
    users = _mysql_run(
        admin,
        (
            "SELECT User, Host FROM mysql.user WHERE User LIKE %s AND User <> %s",
            (pattern, NAMESPACE),
        ),
    )
    return [f"MariaDB database {name}" for (name,) in databases] + [
        f"MariaDB user {user} {host}" for user, host in users
    ]


def _mysql_drop(admin: str, leftovers: list[str]) -> None:
    statements: list[tuple[str, tuple[Any, ...]]] = []
    for item in leftovers:
        words = item.split()
        if words[1] == "database":
            statements.append((f"DROP DATABASE IF EXISTS `{words[2]}`", ()))
        else:
            statements.append(("DROP USER IF EXISTS %s@%s", (words[2], words[3])))
    statements.append((f"DROP DATABASE IF EXISTS `{NAMESPACE}`", ()))
    statements.append(("DROP USER IF EXISTS %s@'%%'", (NAMESPACE,)))
    _mysql_run(admin, *statements)


def _redis_client(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, decode_responses=True)


def _redis_create(admin: str, password: str) -> str:
    with _redis_client(admin) as client:
        client.execute_command(
            "ACL", "SETUSER", NAMESPACE, "on", f">{password}", "~*", "&*", "+@all"
        )
    return _with_account(admin, NAMESPACE, password)


def _redis_leftovers(admin: str) -> list[str]:
    with _redis_client(admin) as client:
        users = [user for user in client.execute_command("ACL", "USERS") if RUN in user]
        keys = list(client.scan_iter(match=f"*{RUN}*", count=1000))
    return [f"Redis user {user}" for user in users if user != NAMESPACE] + [
        f"Redis key {key}" for key in sorted(keys)
    ]


def _redis_drop(admin: str, leftovers: list[str]) -> None:
    with _redis_client(admin) as client:
        for item in leftovers:
            _, kind, name = item.split(" ", 2)
            if kind == "user":
                client.execute_command("ACL", "DELUSER", name)
            else:
                client.unlink(name)
        client.execute_command("ACL", "DELUSER", NAMESPACE)


_NAMESPACES = {
    "postgres": _Namespace(_postgres_create, _postgres_leftovers, _postgres_drop),
    "mysql": _Namespace(_mysql_create, _mysql_leftovers, _mysql_drop),
    "redis": _Namespace(_redis_create, _redis_leftovers, _redis_drop),
}


def service_url(name: str) -> str:
    """The URL of this run's own account on a real server (created on first use).

    Skips the test (fails it when CI=true) if the server does not answer or the
    account cannot be created.
    """
    namespace = _NAMESPACES[name]
    with namespace.lock:
        if namespace.url is None:
            admin = admin_url(name)
            try:
                namespace.url = namespace.create(admin, secrets.token_urlsafe(18))
            except Exception as exc:  # noqa: BLE001 - any driver error: say which and why
                variable = DEFAULTS[name][0]
                _skip_or_fail(
                    f"cannot create the test run's own account {NAMESPACE} on {name}: {exc} "
                    f"({variable} must name an account allowed to create databases and users)"
                )
            namespace.admin = admin
        return namespace.url


def finish_run() -> list[str]:
    """What this run left on the servers it used (nothing, if all went well).

    Everything found is removed anyway, then each server's account and database.
    """
    found: list[str] = []
    for namespace in _NAMESPACES.values():
        with namespace.lock:
            if namespace.url is None or namespace.admin is None:
                continue
            leftovers = namespace.leftovers(namespace.admin)
            namespace.drop(namespace.admin, leftovers)
            namespace.url = namespace.admin = None
            found.extend(leftovers)
    return found
