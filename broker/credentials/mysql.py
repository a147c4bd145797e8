"""``mysql``: a MariaDB/MySQL database per instance, a user per binding.

============  ===============================================================
provision     ``CREATE DATABASE`` (utf8mb4)
bind          ``CREATE USER`` with a generated password, then ``GRANT ALL`` on
              that database only (no ``GRANT OPTION``, nothing global)
unbind        ``ACCOUNT LOCK``, kill the user's sessions, ``DROP USER``
deprovision   kill the sessions using the database, ``DROP DATABASE``
============  ===============================================================

The admin connection is the ``mysql_url`` setting (``BROKER_MYSQL_URL``, e.g.
``mysql://root:secret@127.0.0.1:3306/``): an account with ``CREATE``, ``DROP``,
``CREATE USER``, ``PROCESS``, ``CONNECTION ADMIN``/``SUPER`` and ``ALL … WITH GRANT
OPTION`` (``root`` has them), on MariaDB 10.4+ or MySQL 5.7+. Account names and
passwords travel as escaped literals; database names are derived from the OSB ids
(:mod:`broker.credentials.naming`) and backquoted. In ``GRANT``, ``_`` is escaped
because MySQL reads it as a wildcard in database names.

Options: ``host``, ``port`` (written into credentials), ``name_prefix`` (default
``mb_``), ``user_host`` (the host part of created accounts, default ``%``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import unquote, urlsplit

from marshmallow import fields, validate

from broker.credentials.base import (
    BackendError,
    BackendUnavailable,
    BindingRequest,
    BindResult,
    InstanceRequest,
)
from broker.credentials.endpoints import Endpoint, account_credentials
from broker.credentials.naming import derived_name
from broker.credentials.options import ServerOptions
from broker.credentials.randomness import new_password
from broker.credentials.rollback import undo_then_fail
from broker.credentials.server_backend import (
    DEFAULT_PREFIX,
    ServerBackend,
    already_exists,
    server_settings,
)

if TYPE_CHECKING:
    import pymysql

__all__ = ["MySQLBackend", "database_name", "user_name"]

DATABASE_LIMIT = 64
# MySQL 5.7+/8 accept 32 characters in a user name (MariaDB 80).
USER_LIMIT = 32
DEFAULT_PORT = 3306
DEFAULT_USER_HOST = "%"
CONNECT_TIMEOUT = 5
QUERY_TIMEOUT = 30
SCHEMES = ("mysql", "mariadb", "mysql+pymysql")
UNKNOWN_THREAD = 1094
DATABASE_EXISTS = 1007
USER_OPERATION_FAILED = 1396


# ALTER USER … ACCOUNT LOCK appeared in MariaDB 10.4 and MySQL 5.7.
MINIMUM_MARIADB = (10, 4)
MINIMUM_MYSQL = (5, 7)


def server_version(text: str) -> tuple[int, int]:
    """``(major, minor)`` of a ``SELECT VERSION()`` answer such as ``10.11.6-MariaDB-0``."""
    numbers = [int(part) for part in re.findall(r"\d+", text.split("-")[0])[:2]]
    return (numbers + [0, 0])[0], (numbers + [0, 0])[1]


class MySQLOptions(ServerOptions):
    user_host = fields.String(validate=validate.Length(min=1, max=255))


def database_name(instance_id: str, prefix: str = DEFAULT_PREFIX) -> str:
    """The database of an instance.

    Its ``GRANT`` pattern (:func:`grant_pattern`: every ``_`` escaped) must fit the
    64 characters of a database name too, so a long slug with many underscores is
    cut shorter; a name whose pattern fits stays exactly as derived.
    """
    limit = DATABASE_LIMIT
    while True:
        name = derived_name(prefix, instance_id, limit=limit)
        if len(name) + name.count("_") <= DATABASE_LIMIT:
            return name
        limit -= 1


def user_name(instance_id: str, binding_id: str, prefix: str = DEFAULT_PREFIX) -> str:
    """The account of a binding."""
    return derived_name(prefix, instance_id, binding_id, limit=USER_LIMIT)


def quoted(identifier: str) -> str:
    """A backquoted identifier."""
    return "`" + identifier.replace("`", "``") + "`"


def grant_pattern(database: str) -> str:
    """A derived database name (``[a-z0-9_]``) as a literal ``GRANT … ON`` target.

    ``GRANT`` reads ``_`` in a database name as "any character"; escaped, it only
    matches itself.
    """
    return quoted(database.replace("_", "\\_"))


def _reason(exc: Exception) -> str:
    """The server's message of a PyMySQL error (``args`` is ``(code, message)``)."""
    if len(exc.args) >= 2 and isinstance(exc.args[1], str):
        return exc.args[1]
    return str(exc) or type(exc).__name__


def _code(exc: Exception) -> int | None:
    code = exc.args[0] if exc.args else None
    return code if isinstance(code, int) else None


class MySQLBackend(ServerBackend):
    name: ClassVar[str] = "mysql"
    settings = server_settings("mysql", "MySQL")
    options_schema = MySQLOptions
    driver_module = "pymysql"
    driver_package = "PyMySQL"

    # --- connections ------------------------------------------------------------------
    def _admin(self) -> tuple[Endpoint, dict[str, Any]]:
        """The admin endpoint and PyMySQL connect arguments from the URL."""
        if self._url is None:
            raise BackendUnavailable("BROKER_MYSQL_URL is not set")
        parts = urlsplit(self._url)
        try:
            port = parts.port or DEFAULT_PORT
        except ValueError:
            raise BackendUnavailable("BROKER_MYSQL_URL has an invalid port") from None
        if parts.scheme not in SCHEMES:
            raise BackendUnavailable(
                f"BROKER_MYSQL_URL must start with {', '.join(s + '://' for s in SCHEMES)}"
            )
        endpoint = Endpoint(parts.hostname or "localhost", port)
        arguments = {
            "host": endpoint.host,
            "port": endpoint.port,
            "user": unquote(parts.username or "root"),
            "password": unquote(parts.password or ""),
        }
        return endpoint, arguments

    @contextmanager
    def _connect(self) -> Iterator[pymysql.cursors.Cursor]:
        pymysql = self._driver()
        endpoint, arguments = self._admin()
        try:
            connection = pymysql.connect(
                **arguments,
                autocommit=True,
                charset="utf8mb4",
                connect_timeout=CONNECT_TIMEOUT,
                read_timeout=QUERY_TIMEOUT,
                write_timeout=QUERY_TIMEOUT,
            )
        except pymysql.Error as exc:
            raise BackendUnavailable(
                f"cannot connect to MySQL at {endpoint.netloc}: {_reason(exc)}"
            ) from None
        try:
            with connection.cursor() as cursor:
                yield cursor
        finally:
            connection.close()

    def check(self) -> None:
        pymysql = self._driver()
        with self._connect() as admin:
            try:
                admin.execute("SELECT VERSION()")
                row = admin.fetchone()
            except pymysql.Error as exc:
                raise BackendUnavailable(f"cannot query MySQL: {_reason(exc)}") from None
        version = str(row[0]) if row else ""
        if server_version(version) < (
            MINIMUM_MARIADB if "mariadb" in version.lower() else MINIMUM_MYSQL
        ):
            raise BackendUnavailable(
                f"MariaDB 10.4 or MySQL 5.7 or later is required (server is {version})"
            )

    # --- instances --------------------------------------------------------------------
    def provision(self, request: InstanceRequest) -> dict[str, Any]:
        pymysql = self._driver()
        database = database_name(request.instance_id, self._prefix(request.options))
        with self._connect() as admin:
            try:
                admin.execute(f"CREATE DATABASE {quoted(database)} CHARACTER SET utf8mb4")
            except pymysql.Error as exc:
                if _code(exc) == DATABASE_EXISTS:
                    raise BackendError(already_exists(f"database {database}")) from None
                raise BackendError(f"cannot create database {database}: {_reason(exc)}") from None
        return {"database": database}

    def deprovision(self, request: InstanceRequest) -> None:
        pymysql = self._driver()
        database = self._name(request, "database", database_name)
        with self._connect() as admin:
            try:
                self._kill(admin, self._threads(admin, "DB", database))
                admin.execute(f"DROP DATABASE IF EXISTS {quoted(database)}")
            except pymysql.Error as exc:
                raise BackendError(f"cannot drop database {database}: {_reason(exc)}") from None

    # --- bindings ---------------------------------------------------------------------
    def bind(self, request: BindingRequest) -> BindResult:
        pymysql = self._driver()
        options = request.instance.options
        database = self._name(request.instance, "database", database_name)
        user = user_name(request.instance.instance_id, request.binding_id, self._prefix(options))
        account = (user, str(options.get("user_host", DEFAULT_USER_HOST)))
        password = new_password()
        with self._connect() as admin:
            try:
                admin.execute("CREATE USER %s@%s IDENTIFIED BY %s", (*account, password))
            except pymysql.Error as exc:
                if _code(exc) == USER_OPERATION_FAILED:
                    raise BackendError(already_exists(f"user {user}")) from None
                # A server message may quote the statement, password included.
                reason = _reason(exc).replace(password, "[redacted]")
                raise BackendError(f"cannot create user {user}: {reason}") from None
            try:
                target = grant_pattern(database)
                admin.execute(f"GRANT ALL PRIVILEGES ON {target}.* TO %s@%s", account)
            except pymysql.Error as exc:
                raise undo_then_fail(
                    f"cannot grant user {user} database {database}: {_reason(exc)}; "
                    "the user was dropped again",
                    lambda: self._drop_user(admin, account),
                ) from None
        endpoint = self._public(self._admin()[0], options)
        credentials = account_credentials("mysql", "mysql", endpoint, user, password, database)
        return BindResult(credentials=credentials, state={"user": user, "user_host": account[1]})

    def unbind(self, request: BindingRequest) -> None:
        pymysql = self._driver()
        options = request.instance.options
        user = self._name(request, "user", user_name)
        user_host = options.get("user_host", DEFAULT_USER_HOST)
        account = (user, str(request.state.get("user_host", user_host)))
        with self._connect() as admin:
            try:
                self._drop_user(admin, account)
            except pymysql.Error as exc:
                raise BackendError(f"cannot drop user {user}: {_reason(exc)}") from None

    def _drop_user(self, admin: pymysql.cursors.Cursor, account: tuple[str, str]) -> None:
        """Lock the account, end its sessions, drop it (unlocked again if dropping fails)."""
        pymysql = self._driver()
        admin.execute("ALTER USER IF EXISTS %s@%s ACCOUNT LOCK", account)
        try:
            self._kill(admin, self._threads(admin, "USER", account[0]))
            admin.execute("DROP USER IF EXISTS %s@%s", account)
        except pymysql.Error:
            admin.execute("ALTER USER IF EXISTS %s@%s ACCOUNT UNLOCK", account)
            raise

    @staticmethod
    def _threads(admin: pymysql.cursors.Cursor, column: str, value: str) -> list[int]:
        """Ids of the sessions whose ``column`` (``USER`` or ``DB``) is ``value``."""
        query = f"SELECT ID FROM information_schema.PROCESSLIST WHERE {column} = %s"
        admin.execute(query, (value,))
        return [int(row[0]) for row in admin.fetchall()]

    @classmethod
    def _kill(cls, admin: pymysql.cursors.Cursor, threads: list[int]) -> None:
        pymysql = cls._driver()
        for thread in threads:
            try:
                admin.execute("KILL CONNECTION %s", (int(thread),))
            except pymysql.Error as exc:
                if _code(exc) != UNKNOWN_THREAD:  # it ended on its own meanwhile
                    raise
