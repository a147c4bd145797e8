"""Looking into the real servers behind the credential backends, and cleaning up.

Tests assert on what is (not) left on PostgreSQL, MariaDB and Redis through these
small views, and register every instance and binding id they use with
:class:`Leftovers`, which removes whatever a failed test left behind through the
backend's own (idempotent) unbind and deprovision.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import unquote, urlsplit

import psycopg
import pymysql
import redis
from flask import Flask

from broker.credentials.base import BindingRequest, CredentialBackend, InstanceRequest
from broker.web.runtime import runtime_of
from tests.support.osb import OSB, basic
from tests.support.services import RUN


def unique(label: str) -> str:
    """An id no other test run uses; the names a backend derives from it carry the run's
    token, so what a failed test leaves is found at the end of the session."""
    return f"{label}-{RUN}-{uuid.uuid4().hex}"


def recorded(app: Flask) -> tuple[set[str], set[str]]:
    """Ids of the instances and bindings the broker knows: ``GET /admin/state``, and the store.

    Both views are compared so a test notices a record hiding in one of them.
    """
    settings = runtime_of(app).settings
    admin = OSB(
        app.test_client(),
        auth=basic(
            settings.admin_username or settings.username,
            settings.admin_password or settings.password,
        ),
        version=None,
    )
    answer = admin.get("/admin/state")
    assert answer.status == 200, answer.json
    instances = {item["id"] for item in answer.json["instances"]}
    bindings = {item["id"] for item in answer.json["bindings"]}
    store = runtime_of(app).store
    assert instances == {record.id for record in store.list_instances()}
    assert bindings == {record.id for record in store.list_bindings()}
    return instances, bindings


class Leftovers:
    """Instance and binding ids a test used; :meth:`remove` (or leaving the ``with``
    block) deletes what they left.

    ``options`` are the plan's backend options when they change names (``name_prefix``).
    """

    def __init__(self, backend: CredentialBackend) -> None:
        self.backend = backend
        self.instances: list[InstanceRequest] = []
        self.bindings: list[BindingRequest] = []

    def instance(self, instance_id: str, options: dict[str, Any] | None = None) -> str:
        self.instances.append(_instance(instance_id, options))
        return instance_id

    def binding(
        self, instance_id: str, binding_id: str, options: dict[str, Any] | None = None
    ) -> str:
        self.bindings.append(BindingRequest(_instance(instance_id, options), binding_id))
        return binding_id

    def remove(self) -> None:
        for binding in self.bindings:
            self.backend.unbind(binding)
        for instance in self.instances:
            self.backend.deprovision(instance)

    def __enter__(self) -> Leftovers:
        return self

    def __exit__(self, *_: object) -> None:
        self.remove()


def _instance(instance_id: str, options: dict[str, Any] | None) -> InstanceRequest:
    return InstanceRequest(instance_id, "", "", "", "", options=options or {})


class PostgresServer:
    def __init__(self, url: str) -> None:
        self.url = url

    def execute(
        self, statement: Any, params: tuple[Any, ...] = (), database: str | None = None
    ) -> list[tuple[Any, ...]]:
        extra = {"dbname": database} if database else {}
        with psycopg.connect(self.url, autocommit=True, **extra) as connection:
            cursor = connection.execute(statement, params)
            return cursor.fetchall() if cursor.description else []

    def has_database(self, name: str) -> bool:
        return bool(self.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)))

    def has_role(self, name: str) -> bool:
        return bool(self.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)))


class MySQLServer:
    def __init__(self, url: str) -> None:
        self.url = url

    def connect(self, **arguments: Any) -> pymysql.connections.Connection[Any]:
        """A connection as the admin of the URL, or as whoever ``arguments`` name."""
        return pymysql.connect(**{**pymysql_arguments(self.url), **arguments}, autocommit=True)

    def execute(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        connection = self.connect()
        try:
            with connection.cursor() as cursor:
                cursor.execute(statement, params or None)
                return list(cursor.fetchall())
        finally:
            connection.close()

    def has_database(self, name: str) -> bool:
        query = "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s"
        return bool(self.execute(query, (name,)))

    def has_user(self, name: str) -> bool:
        return bool(self.execute("SELECT 1 FROM mysql.user WHERE User = %s", (name,)))


def pymysql_arguments(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": unquote(parts.username or "root"),
        "password": unquote(parts.password or ""),
    }


class RedisServer:
    def __init__(self, url: str) -> None:
        self.url = url

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, decode_responses=True)

    def acl_user(self, name: str) -> Any:
        with self.client() as client:
            return client.execute_command("ACL", "GETUSER", name)

    def keys_under(self, prefix: str) -> list[str]:
        with self.client() as client:
            return sorted(client.scan_iter(match=f"{prefix}*", count=1000))
