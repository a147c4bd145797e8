"""``postgres``: a PostgreSQL database per instance, a login role per binding.

============  ===============================================================
provision     a ``NOLOGIN`` owner role for the instance, ``CREATE DATABASE …
              OWNER`` it, the ``public`` schema handed to it; ``CONNECT``,
              ``TEMPORARY`` and every ``public`` privilege revoked from ``PUBLIC``
bind          ``CREATE ROLE … LOGIN IN ROLE <owner>`` with a generated password,
              whose sessions act as the owner (``SET role``): every binding of
              the instance shares its tables, and they outlive the binding
unbind        ``NOLOGIN``, terminate the role's sessions, then in one
              transaction ``REASSIGN OWNED`` to the owner, ``DROP OWNED BY``
              and ``DROP ROLE``
deprovision   ``DROP DATABASE … WITH (FORCE)`` (ends its sessions first), then
              the owner role
============  ===============================================================

The admin connection is the ``postgres_url`` setting (``BROKER_POSTGRES_URL``):
a superuser, or a role with ``CREATEDB``, ``CREATEROLE`` and ``pg_signal_backend``,
on PostgreSQL 13 or later. Every statement is composed with :mod:`psycopg.sql`
(DDL takes no bound parameters); names are derived from the OSB ids
(:mod:`broker.credentials.naming`) and quoted all the same. The password never
reaches the server in clear: the role gets a SCRAM verifier computed here.

Options: ``host``, ``port`` (written into credentials), ``name_prefix``
(default ``mb_``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar

from broker.credentials.base import (
    BackendError,
    BackendUnavailable,
    BindingRequest,
    BindResult,
    InstanceRequest,
)
from broker.credentials.endpoints import Endpoint, account_credentials
from broker.credentials.naming import derived_name
from broker.credentials.randomness import new_password
from broker.credentials.rollback import undo_then_fail
from broker.credentials.server_backend import (
    DEFAULT_PREFIX,
    ServerBackend,
    already_exists,
    server_settings,
)

if TYPE_CHECKING:
    import psycopg

__all__ = ["PostgresBackend", "database_name", "owner_name", "role_name"]

# PostgreSQL truncates identifiers to NAMEDATALEN - 1 bytes.
IDENTIFIER_LIMIT = 63
DEFAULT_PORT = 5432
CONNECT_TIMEOUT = 5
# DROP OWNED waits for locks held by sessions that are still ending.
LOCK_TIMEOUT = "10s"
MINIMUM_VERSION = 130000


def database_name(instance_id: str, prefix: str = DEFAULT_PREFIX) -> str:
    """The database of an instance."""
    return derived_name(prefix, instance_id, limit=IDENTIFIER_LIMIT)


def role_name(instance_id: str, binding_id: str, prefix: str = DEFAULT_PREFIX) -> str:
    """The login role of a binding."""
    return derived_name(prefix, instance_id, binding_id, limit=IDENTIFIER_LIMIT)


def owner_name(instance_id: str, prefix: str = DEFAULT_PREFIX) -> str:
    """The (NOLOGIN) role that owns an instance's database and everything in it."""
    return derived_name(f"{prefix}owner_", instance_id, limit=IDENTIFIER_LIMIT)


def _reason(exc: Exception) -> str:
    """The server's message without the libpq hints (one line)."""
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None)
    text = primary or str(exc) or type(exc).__name__
    return text.strip().splitlines()[0].removeprefix("connection failed: ")


class PostgresBackend(ServerBackend):
    name: ClassVar[str] = "postgres"
    settings = server_settings("postgres", "PostgreSQL")
    driver_module = "psycopg"
    driver_package = "psycopg"

    # --- connections ------------------------------------------------------------------
    def _admin_endpoint(self) -> Endpoint:
        psycopg = self._driver()
        if self._url is None:
            raise BackendUnavailable("BROKER_POSTGRES_URL is not set")
        try:
            params = psycopg.conninfo.conninfo_to_dict(self._url)
        except psycopg.Error:
            raise BackendUnavailable("BROKER_POSTGRES_URL is not a valid PostgreSQL URL") from None
        host = str(params.get("host") or "localhost").split(",")[0]
        if host.startswith("/"):  # a Unix socket directory means this machine
            host = "localhost"
        port = str(params.get("port") or DEFAULT_PORT).split(",")[0]
        return Endpoint(host, int(port) if port.isdigit() else DEFAULT_PORT)

    @contextmanager
    def _connect(self, database: str | None = None) -> Iterator[psycopg.Connection[Any]]:
        """An autocommit connection as the admin role (to ``database`` if given)."""
        psycopg = self._driver()
        where = self._admin_endpoint().netloc
        extra = {"dbname": database} if database else {}
        try:
            connection = psycopg.connect(
                self._url,
                autocommit=True,
                connect_timeout=CONNECT_TIMEOUT,
                application_name="mockbroker",
                **extra,
            )
        except psycopg.Error as exc:
            raise BackendUnavailable(
                f"cannot connect to PostgreSQL at {where}: {_reason(exc)}"
            ) from None
        with connection:
            connection.execute(
                psycopg.sql.SQL("SET lock_timeout = {}").format(psycopg.sql.Literal(LOCK_TIMEOUT))
            )
            yield connection

    def check(self) -> None:
        psycopg = self._driver()
        with self._connect() as admin:
            try:
                row = admin.execute(
                    "SELECT current_user, current_setting('server_version_num')::int,"
                    " rolsuper, rolcreatedb, rolcreaterole"
                    " FROM pg_roles WHERE rolname = current_user"
                ).fetchone()
            except psycopg.Error as exc:
                raise BackendUnavailable(f"cannot query PostgreSQL: {_reason(exc)}") from None
        assert row is not None
        user, version, superuser, createdb, createrole = row
        if version < MINIMUM_VERSION:
            raise BackendUnavailable(f"PostgreSQL 13 or later is required (server is {version})")
        if not superuser and not (createdb and createrole):
            raise BackendUnavailable(
                f"role {user} cannot create databases and roles (needs SUPERUSER, "
                "or CREATEDB and CREATEROLE)"
            )

    # --- instances --------------------------------------------------------------------
    def provision(self, request: InstanceRequest) -> dict[str, Any]:
        psycopg = self._driver()
        sql = psycopg.sql
        prefix = self._prefix(request.options)
        database = database_name(request.instance_id, prefix)
        owner = owner_name(request.instance_id, prefix)
        name = sql.Identifier(database)
        with self._connect() as admin:
            try:
                with admin.transaction():
                    admin.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(owner)))
                    # A non-superuser admin may only give a database to a role it is in.
                    admin.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(sql.Identifier(owner)))
            except psycopg.errors.DuplicateObject:
                raise BackendError(already_exists(f"role {owner}")) from None
            except psycopg.Error as exc:
                raise BackendError(f"cannot create role {owner}: {_reason(exc)}") from None
            try:
                admin.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(name, sql.Identifier(owner))
                )
            except psycopg.errors.DuplicateDatabase:
                raise undo_then_fail(
                    already_exists(f"database {database}"),
                    lambda: self._drop_owner(admin, owner),
                ) from None
            except psycopg.Error as exc:
                raise undo_then_fail(
                    f"cannot create database {database}: {_reason(exc)}",
                    lambda: self._drop_owner(admin, owner),
                ) from None
            try:
                admin.execute(
                    sql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC").format(name)
                )
                with self._connect(database) as inside:
                    # The PostgreSQL 15 default, made explicit for older servers.
                    inside.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
                    inside.execute(
                        sql.SQL("ALTER SCHEMA public OWNER TO {}").format(sql.Identifier(owner))
                    )
            except (psycopg.Error, BackendError) as exc:
                raise undo_then_fail(
                    f"cannot restrict access to database {database}: {_reason(exc)}; "
                    "the database was dropped again",
                    lambda: (self._drop_database(admin, database), self._drop_owner(admin, owner)),
                ) from None
        return {"database": database, "owner": owner}

    def deprovision(self, request: InstanceRequest) -> None:
        psycopg = self._driver()
        database = self._name(request, "database", database_name)
        owner = self._name(request, "owner", owner_name)
        with self._connect() as admin:
            try:
                self._drop_database(admin, database)
                self._drop_owner(admin, owner)
            except psycopg.Error as exc:
                raise BackendError(f"cannot drop database {database}: {_reason(exc)}") from None

    @classmethod
    def _drop_database(cls, admin: psycopg.Connection[Any], database: str) -> None:
        sql = cls._driver().sql
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
        )

    @classmethod
    def _drop_owner(cls, admin: psycopg.Connection[Any], owner: str) -> None:
        sql = cls._driver().sql
        admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(owner)))

    # --- bindings ---------------------------------------------------------------------
    def bind(self, request: BindingRequest) -> BindResult:
        psycopg = self._driver()
        sql = psycopg.sql
        options = request.instance.options
        database = self._name(request.instance, "database", database_name)
        owner = self._name(request.instance, "owner", owner_name)
        role = role_name(request.instance.instance_id, request.binding_id, self._prefix(options))
        password = new_password()
        with self._connect() as admin:
            try:
                verifier = admin.pgconn.encrypt_password(password.encode(), role.encode()).decode()
                with admin.transaction():
                    admin.execute(
                        sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE {}").format(
                            sql.Identifier(role), sql.Literal(verifier), sql.Identifier(owner)
                        )
                    )
                    # Sessions act as the owner: what one binding creates, every
                    # binding of the instance can use, and it outlives the binding.
                    admin.execute(
                        sql.SQL("ALTER ROLE {} SET role = {}").format(
                            sql.Identifier(role), sql.Literal(owner)
                        )
                    )
            except psycopg.errors.DuplicateObject:
                raise BackendError(already_exists(f"role {role}")) from None
            except psycopg.Error as exc:
                raise BackendError(f"cannot create role {role}: {_reason(exc)}") from None
            try:
                with self._connect(database) as inside:
                    # Proves the owner still holds the schema (and that the role works).
                    found = inside.execute(
                        "SELECT pg_has_role(%s, nspowner, 'MEMBER') FROM pg_namespace "
                        "WHERE nspname = 'public'",
                        (role,),
                    ).fetchone()
                    if not found or not found[0]:
                        raise BackendError("its public schema is not owned by the instance")
            except (psycopg.Error, BackendError) as exc:
                raise undo_then_fail(
                    f"cannot give role {role} the public schema of database {database}: "
                    f"{_reason(exc)}; the role was dropped again",
                    lambda: self._drop_role(admin, role, database, owner),
                ) from None
        endpoint = self._public(self._admin_endpoint(), options)
        credentials = account_credentials(
            "postgresql", "postgresql", endpoint, role, password, database
        )
        return BindResult(credentials=credentials, state={"role": role})

    def unbind(self, request: BindingRequest) -> None:
        psycopg = self._driver()
        role = self._name(request, "role", role_name)
        database = self._name(request.instance, "database", database_name)
        owner = self._name(request.instance, "owner", owner_name)
        with self._connect() as admin:
            try:
                self._drop_role(admin, role, database, owner)
            except (psycopg.Error, BackendError) as exc:
                raise BackendError(f"cannot drop role {role}: {_reason(exc)}") from None

    def _drop_role(
        self, admin: psycopg.Connection[Any], role: str, database: str, owner: str
    ) -> None:
        """Lock the role out, end its sessions, hand what it owns to the instance's
        owner, and drop the role.

        This happens in one transaction inside the instance's database (where the
        role's objects live; ``DROP OWNED`` there also revokes its grants), so a
        failure leaves the role as it was, able to log in again. The data stays: an
        app that ran ``RESET ROLE`` and created tables as itself loses nothing either.
        """
        psycopg = self._driver()
        sql = psycopg.sql
        name = sql.Identifier(role)
        if admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is None:
            return
        admin.execute(sql.SQL("ALTER ROLE {} NOLOGIN").format(name))
        try:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,)
            )
            exists = admin.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
            ).fetchone()
            owner_exists = admin.execute(
                "SELECT 1 FROM pg_roles WHERE rolname = %s", (owner,)
            ).fetchone()
            # REASSIGN OWNED needs the privileges of the role: an admin that is not a
            # superuser (CREATEROLE) is not a member of the roles it creates.
            admin.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(name))
            with self._connect(database if exists else None) as inside, inside.transaction():
                if exists and owner_exists:
                    inside.execute(
                        sql.SQL("REASSIGN OWNED BY {} TO {}").format(name, sql.Identifier(owner))
                    )
                inside.execute(sql.SQL("DROP OWNED BY {}").format(name))
                inside.execute(sql.SQL("DROP ROLE {}").format(name))
        except (psycopg.Error, BackendError):
            admin.execute(sql.SQL("ALTER ROLE {} LOGIN").format(name))
            raise
