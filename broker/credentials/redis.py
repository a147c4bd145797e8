"""``redis``: a key prefix per instance, an ACL user per binding (Redis 7+).

============  ===============================================================
provision     choose the instance's key prefix (``<name>:``); nothing is
              written, but the server must answer
bind          ``ACL SETUSER`` a user with a generated password that may only
              touch keys and channels under the prefix, without admin,
              dangerous or cross-database commands
unbind        ``ACL DELUSER`` (which also closes the user's connections)
deprovision   ``SCAN MATCH <prefix>*`` and ``UNLINK`` what it finds (never
              ``KEYS``)
============  ===============================================================

The admin connection is the ``redis_url`` setting (``BROKER_REDIS_URL``, e.g.
``redis://127.0.0.1:6379/0``, ``rediss://`` for TLS); the instance lives in that
URL's database number. Besides the admin and dangerous categories, a bound user
cannot ``SELECT``, ``MOVE`` or ``COPY`` (other databases), ``SCAN``, ``RANDOMKEY``
or ``PUBSUB`` (they reveal other instances' key and channel names), nor change the
server-wide script and function state. ACL key patterns do not hide keys from the
``default`` user: protect it (``requirepass``) on a shared server.

Options: ``host``, ``port`` (written into credentials), ``name_prefix`` (default
``mb_``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

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
    import redis

__all__ = ["ACL_COMMAND_RULES", "RedisBackend", "key_prefix", "user_name"]

NAME_LIMIT = 64
DEFAULT_PORT = 6379
CONNECT_TIMEOUT = 5
COMMAND_TIMEOUT = 30
SCAN_COUNT = 1000
MINIMUM_MAJOR_VERSION = 7

# What a bound user may run, after its key (~) and channel (&) patterns.
ACL_COMMAND_RULES = (
    "+@all",
    "-@admin",
    "-@dangerous",
    # Reach into other databases, which deprovision would never clean.
    "-select",
    "-move",
    "-copy",
    # Reveal the names of other instances' keys and channels.
    "-scan",
    "-randomkey",
    "-pubsub",
    # Change or stop scripts and functions every client of the server shares.
    "-function",
    "-script|flush",
    "-script|kill",
)


def key_prefix(instance_id: str, prefix: str = DEFAULT_PREFIX) -> str:
    """The prefix of every key and channel of an instance (glob-safe: ``[a-z0-9_:]``)."""
    return derived_name(prefix, instance_id, limit=NAME_LIMIT) + ":"


def user_name(instance_id: str, binding_id: str, prefix: str = DEFAULT_PREFIX) -> str:
    """The ACL user of a binding."""
    return derived_name(prefix, instance_id, binding_id, limit=NAME_LIMIT)


def _reason(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _acl(client: Any, *arguments: str) -> Any:
    """``ACL <arguments>`` (redis-py's typed helpers lag behind the ACL syntax)."""
    return client.execute_command("ACL", *arguments)


class RedisBackend(ServerBackend):
    name: ClassVar[str] = "redis"
    settings = server_settings("redis", "Redis")
    driver_module = "redis"
    driver_package = "redis-py"

    # --- connections ------------------------------------------------------------------
    def _admin(self) -> tuple[Endpoint, str, int]:
        """The admin endpoint, the URI scheme clients use, and the database number."""
        if self._url is None:
            raise BackendUnavailable("BROKER_REDIS_URL is not set")
        parts = urlsplit(self._url)
        if parts.scheme not in ("redis", "rediss"):
            raise BackendUnavailable("BROKER_REDIS_URL must start with redis:// or rediss://")
        try:
            port = parts.port or DEFAULT_PORT
        except ValueError:
            raise BackendUnavailable("BROKER_REDIS_URL has an invalid port") from None
        path = parts.path.strip("/") or "0"
        if not path.isdigit():
            raise BackendUnavailable("BROKER_REDIS_URL must end with a database number (/0)")
        return Endpoint(parts.hostname or "localhost", port), parts.scheme, int(path)

    @contextmanager
    def _connect(self) -> Iterator[redis.Redis]:
        driver = self._driver()
        endpoint, _, database = self._admin()
        client = driver.Redis.from_url(
            self._url,
            db=database,
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=COMMAND_TIMEOUT,
            decode_responses=True,
        )
        try:
            client.ping()
        except driver.RedisError as exc:
            client.close()
            raise BackendUnavailable(
                f"cannot connect to Redis at {endpoint.netloc}: {_reason(exc)}"
            ) from None
        try:
            yield client
        finally:
            client.close()

    def check(self) -> None:
        driver = self._driver()
        with self._connect() as admin:
            try:
                version = str(admin.info("server").get("redis_version", "0"))
                _acl(admin, "WHOAMI")
            except driver.RedisError as exc:
                raise BackendUnavailable(f"cannot query Redis: {_reason(exc)}") from None
        major = int(version.split(".")[0]) if version.split(".")[0].isdigit() else 0
        if major < MINIMUM_MAJOR_VERSION:
            raise BackendUnavailable(f"Redis 7 or later is required (server is {version})")

    # --- instances --------------------------------------------------------------------
    def provision(self, request: InstanceRequest) -> dict[str, Any]:
        _, _, database = self._admin()
        prefix = key_prefix(request.instance_id, self._prefix(request.options))
        with self._connect():
            pass  # an unreachable server fails the provision, not the first bind
        return {"key_prefix": prefix, "database": database}

    def deprovision(self, request: InstanceRequest) -> None:
        driver = self._driver()
        prefix = self._name(request, "key_prefix", key_prefix)
        with self._connect() as admin:
            try:
                cursor = 0
                while True:
                    cursor, keys = admin.scan(cursor, match=f"{prefix}*", count=SCAN_COUNT)
                    if keys:
                        admin.unlink(*keys)
                    if cursor == 0:
                        break
            except driver.RedisError as exc:
                raise BackendError(
                    f"cannot delete the keys under {prefix}: {_reason(exc)}"
                ) from None

    # --- bindings ---------------------------------------------------------------------
    def bind(self, request: BindingRequest) -> BindResult:
        driver = self._driver()
        options = request.instance.options
        prefix = self._name(request.instance, "key_prefix", key_prefix)
        user = user_name(request.instance.instance_id, request.binding_id, self._prefix(options))
        password = new_password()
        rules = ("reset", "on", f">{password}", f"~{prefix}*", f"&{prefix}*", *ACL_COMMAND_RULES)
        with self._connect() as admin:
            try:
                existing = _acl(admin, "GETUSER", user)
            except driver.RedisError as exc:
                raise BackendError(f"cannot look up ACL user {user}: {_reason(exc)}") from None
            if existing is not None:
                raise BackendError(already_exists(f"ACL user {user}"))
            try:
                _acl(admin, "SETUSER", user, *rules)
            except driver.RedisError as exc:
                # ACL errors quote the rule they reject, which may be the password one.
                reason = _reason(exc).replace(password, "[redacted]")
                if isinstance(exc, driver.ResponseError):
                    # The server refused the whole command: nothing was created.
                    raise BackendError(f"cannot create ACL user {user}: {reason}") from None
                # The connection broke: the user may or may not exist now.
                raise undo_then_fail(
                    f"cannot create ACL user {user}: {reason}",
                    lambda: self._delete_user(user),
                ) from None
        endpoint_admin, scheme, database = self._admin()
        endpoint = self._public(endpoint_admin, options)
        credentials = {
            **account_credentials("redis", scheme, endpoint, user, password, database),
            "key_prefix": prefix,
        }
        return BindResult(credentials=credentials, state={"user": user})

    def unbind(self, request: BindingRequest) -> None:
        user = self._name(request, "user", user_name)
        self._delete_user(user)

    def _delete_user(self, user: str) -> None:
        """``ACL DELUSER``: the user is gone and so are its connections."""
        driver = self._driver()
        with self._connect() as admin:
            try:
                _acl(admin, "DELUSER", user)
            except driver.RedisError as exc:
                raise BackendError(f"cannot delete ACL user {user}: {_reason(exc)}") from None
