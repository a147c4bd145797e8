"""Settings: one typed object, parsed once.

Precedence, lowest first: built-in defaults < YAML config file (``--config`` or
``BROKER_CONFIG``) < ``BROKER_*`` environment variables < command-line flags.
Every setting has the same name everywhere: ``port`` in the YAML file is
``BROKER_PORT`` in the environment and ``--port`` on the command line.
Nothing here runs at import time; :func:`load_settings` is called by the CLI and
by tests, and :func:`broker.app.create_app` receives the result.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from broker.api_versions import parse_version
from broker.journal.retention import DEFAULT_MAX_BYTES as DEFAULT_JOURNAL_MAX_BYTES
from broker.journal.retention import MIN_MAX_BYTES as MIN_JOURNAL_MAX_BYTES

__all__ = ["BasicCredential", "Settings", "SettingsError", "load_settings"]

ENV_PREFIX = "BROKER_"
# The password everyone knows (the default): accepted on loopback only, set or not.
WELL_KNOWN_PASSWORD = "broker"


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names the source."""


@dataclass(frozen=True)
class BasicCredential:
    username: str
    password: str

    def __repr__(self) -> str:  # never print a password, even in a traceback
        return f"BasicCredential(username={self.username!r}, password='***')"


@dataclass(frozen=True)
class Settings:
    """Everything the broker can be told. Immutable; build variants with :meth:`replace`."""

    host: str = "127.0.0.1"
    port: int = 8080
    username: str = "broker"
    password: str = field(default="broker", repr=False)
    # Further user/password pairs accepted for the OSB API ("user:password,user2:pw2").
    users: tuple[BasicCredential, ...] = ()
    bearer_tokens: tuple[str, ...] = field(default=(), repr=False)
    admin_username: str | None = None
    admin_password: str | None = field(default=None, repr=False)
    catalogs: tuple[Path, ...] = ()
    store: str | None = None
    data_dir: Path = Path(".mockbroker")
    workers: int | None = None
    threads: int = 8
    timeout: int = 120
    log_format: str | None = None
    log_level: str = "INFO"
    # Status for a request without X-Broker-API-Version: 412 (default) or 400.
    missing_version_status: int = 412
    # Answer as this OSB version whatever the platform announces (2.11 ... 2.17);
    # unset: as the announced version defines (see broker.osb.versions).
    osb_version: tuple[int, int] | None = None
    # Refuse what the lenient default accepts (and records as a finding).
    strict: bool = False
    max_body_bytes: int = 1024 * 1024
    # Slow and idle clients (see "How the server handles connections" in docs/guides/serving.md):
    # seconds to send the request line and headers, then the body; open connections
    # per worker; requests per worker waiting in a fault rule's delay or hang at once.
    header_timeout: int = 10
    body_timeout: int = 30
    max_connections: int = 1000
    max_delayed: int = 100
    # Seed for the fake credential backend: same seed + same ids = same credentials.
    credential_seed: str | None = None
    # SQLite "PRAGMA synchronous" in WAL mode. NORMAL: every acknowledged change survives
    # a killed broker process (kill -9) and a restart; FULL also syncs every commit to
    # disk, for power loss and operating system crashes.
    sqlite_synchronous: str = "NORMAL"
    # Largest number of requests the journal keeps (oldest dropped first) ...
    journal_size: int = 10000
    # ... and the most bytes of encoded entries it keeps (see broker.journal.retention).
    journal_max_bytes: int = DEFAULT_JOURNAL_MAX_BYTES
    # Seconds a finished operation is remembered (see broker.osb.operation_retention).
    operation_retention: int = 3600
    # Also record /admin requests in the journal.
    journal_admin: bool = False
    # Base URL used in dashboard_url values; defaults to http://host:port.
    public_url: str | None = None
    # Admin connections for the real credential backends (never read from a catalog).
    postgres_url: str | None = field(default=None, repr=False)
    mysql_url: str | None = field(default=None, repr=False)
    redis_url: str | None = field(default=None, repr=False)
    # Where clients reach those servers, when it differs from the admin URL (inside
    # docker compose the broker uses postgres:5432, a host-side client 127.0.0.1:15432).
    # Unset: the admin URL's host and port.
    postgres_public_host: str | None = None
    postgres_public_port: int | None = None
    mysql_public_host: str | None = None
    mysql_public_port: int | None = None
    redis_public_host: str | None = None
    redis_public_port: int | None = None
    # Grade the platform's requests against the OSB rules (broker.platform_checks) ...
    platform_checks: bool = True
    # ... and give it this many seconds to send the DELETE that orphan mitigation asks for.
    orphan_mitigation_window: int = 60
    # ... and remember this many deleted ids per kind for id-reuse (the oldest forgotten first).
    platform_checks_remembered_ids: int = 10_000
    # Whether the password was given explicitly (config, env or flag) rather than defaulted.
    password_is_default: bool = True

    def __post_init__(self) -> None:
        # However the settings were made (parsed, replaced, built in code), a credential
        # with an empty password never exists: an empty password would log anyone in.
        if not self.password:
            raise SettingsError("the OSB password must not be empty (BROKER_PASSWORD)")
        if self.admin_password is not None and not self.admin_password:
            raise SettingsError(
                "the admin password must not be empty (BROKER_ADMIN_PASSWORD); leave it "
                "unset to use the OSB credentials"
            )
        if any(not user.password for user in self.users):
            raise SettingsError("every user needs a non-empty password (BROKER_USERS)")

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    # --- derived values -------------------------------------------------------------

    @property
    def osb_credentials(self) -> tuple[BasicCredential, ...]:
        return (BasicCredential(self.username, self.password), *self.users)

    @property
    def admin_credentials(self) -> tuple[BasicCredential, ...]:
        if self.admin_username is None and self.admin_password is None:
            return self.osb_credentials
        return (
            BasicCredential(
                self.admin_username or self.username,
                self.admin_password if self.admin_password is not None else self.password,
            ),
        )

    @property
    def store_url(self) -> str:
        return self.store or f"sqlite:///{(self.data_dir / 'broker.db').as_posix()}"

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def effective_workers(self) -> int:
        if self.workers is not None:
            return self.workers
        if self.store_url.startswith("memory:"):
            return 1
        return min(2 * (os.cpu_count() or 1) + 1, 8)

    def check_serving(self) -> None:
        """Refuse combinations that are unsafe or cannot work when serving."""
        if not is_loopback(self.host):
            if self.password_is_default:
                raise SettingsError(
                    f"refusing to listen on {self.host} with the default password: "
                    "set BROKER_PASSWORD (or --password) when binding a non-loopback address"
                )
            known = [
                name
                for name, credentials in (
                    ("BROKER_PASSWORD / BROKER_USERS", self.osb_credentials),
                    ("BROKER_ADMIN_PASSWORD", self.admin_credentials),
                )
                if any(c.password == WELL_KNOWN_PASSWORD for c in credentials)
            ]
            if known:
                raise SettingsError(
                    f"refusing to listen on {self.host} with the well-known password "
                    f"{WELL_KNOWN_PASSWORD!r} ({known[0]}): choose another one when binding "
                    "a non-loopback address"
                )
        if self.store_url.startswith("memory:") and self.effective_workers > 1:
            raise SettingsError(
                "the memory:// store lives inside one process: use --workers 1 or a "
                "sqlite:/// or postgresql:// store for several workers"
            )


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# --- parsing ------------------------------------------------------------------------

Parser = Callable[[Any, str], Any]


def _text(value: Any, where: str) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, (list, dict)):
        raise SettingsError(f"{where}: expected a string, got {value!r}")
    return str(value)


def _password(value: Any, where: str) -> str:
    text = _text(value, where)
    if not text:
        raise SettingsError(f"{where}: a password must not be empty")
    return text


def _admin_password(value: Any, where: str) -> str:
    text = _text(value, where)
    if not text:
        raise SettingsError(
            f"{where}: a password must not be empty (leave it unset to use the OSB credentials)"
        )
    return text


def _host(value: Any, where: str) -> str:
    """A host name or address; an IPv6 address may come in URL brackets (``[::1]``)."""
    host = _text(value, where)
    if host.startswith("[") and host.endswith("]"):
        return host[1:-1]
    return host


def _integer(minimum: int, maximum: int | None = None) -> Parser:
    def parse(value: Any, where: str) -> int:
        if isinstance(value, bool):
            raise SettingsError(f"{where}: expected an integer, got {value!r}")
        try:
            number = int(str(value).strip())
        except ValueError:
            raise SettingsError(f"{where}: expected an integer, got {value!r}") from None
        if number < minimum or (maximum is not None and number > maximum):
            bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
            raise SettingsError(f"{where}: must be {bound}, got {number}")
        return number

    return parse


def _optional(parse: Parser) -> Parser:
    """``parse``, except that ``None`` or an empty value means unset (``None``)."""

    def parse_optional(value: Any, where: str) -> Any:
        if value is None or value == "":
            return None
        return parse(value, where)

    return parse_optional


_optional_text = _optional(_text)
_optional_port = _optional(_integer(1, 65535))


def _boolean(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise SettingsError(f"{where}: expected true or false, got {value!r}")


def _choice(*choices: str, upper: bool = False) -> Parser:
    def parse(value: Any, where: str) -> str:
        text = _text(value, where).strip()
        text = text.upper() if upper else text.lower()
        if text not in choices:
            raise SettingsError(f"{where}: must be one of {', '.join(choices)}, got {value!r}")
        return text

    return parse


def _optional_choice(*choices: str) -> Parser:
    parse = _choice(*choices)

    def parse_optional(value: Any, where: str) -> str | None:
        if value is None or value == "" or value == "auto":
            return None
        text: str = parse(value, where)
        return text

    return parse_optional


def _list(value: Any, where: str, separator: str = ",") -> list[str]:
    if isinstance(value, (list, tuple)):
        return [_text(item, where) for item in value]
    text = _text(value, where)
    return [part.strip() for part in text.split(separator) if part.strip()]


def _users(value: Any, where: str) -> tuple[BasicCredential, ...]:
    pairs: list[BasicCredential] = []
    items: list[Any] = list(value) if isinstance(value, (list, tuple)) else _list(value, where)
    for item in items:
        if isinstance(item, Mapping):
            username, password = item.get("username"), item.get("password")
        elif isinstance(item, str) and ":" in item:
            username, password = item.split(":", 1)
        else:
            raise SettingsError(f"{where}: expected user:password pairs, got {item!r}")
        if not username or not password:
            raise SettingsError(f"{where}: every user needs a non-empty username and password")
        pairs.append(BasicCredential(str(username), str(password)))
    return tuple(pairs)


def _tokens(value: Any, where: str) -> tuple[str, ...]:
    tokens = tuple(_list(value, where))
    if any(not token for token in tokens):
        raise SettingsError(f"{where}: bearer tokens must not be empty")
    return tokens


def _paths(value: Any, where: str) -> tuple[Path, ...]:
    return tuple(Path(part) for part in _list(value, where, separator=os.pathsep))


def _path(value: Any, where: str) -> Path:
    return Path(_text(value, where))


def _missing_version_status(value: Any, where: str) -> int:
    status = _integer(400, 412)(value, where)
    if status not in (400, 412):
        raise SettingsError(f"{where}: must be 400 or 412, got {status}")
    return int(status)


def _osb_version(value: Any, where: str) -> tuple[int, int] | None:
    if value is None or value == "":
        return None
    # YAML reads an unquoted 2.13 as a number; its text is the same.
    try:
        return parse_version(_text(value, where))
    except ValueError as exc:
        raise SettingsError(f"{where}: {exc}") from None


def _store(value: Any, where: str) -> str | None:
    url: str | None = _optional_text(value, where)
    if url is None:
        return None
    if url == "memory":
        return "memory://"
    if not url.startswith(("memory://", "sqlite:///", "postgresql://", "postgres://")):
        raise SettingsError(
            f"{where}: unsupported store {url!r}; use memory://, sqlite:///PATH or "
            "postgresql://USER@HOST/DB"
        )
    return url


PARSERS: dict[str, Parser] = {
    "host": _host,
    "port": _integer(0, 65535),
    "username": _text,
    "password": _password,
    "users": _users,
    "bearer_tokens": _tokens,
    "admin_username": _optional_text,
    "admin_password": _admin_password,
    "catalogs": _paths,
    "store": _store,
    "data_dir": _path,
    "workers": _optional(_integer(1)),
    "threads": _integer(1, 256),
    "timeout": _integer(1),
    "log_format": _optional_choice("json", "text"),
    "log_level": _choice("DEBUG", "INFO", "WARNING", "ERROR", upper=True),
    "missing_version_status": _missing_version_status,
    "osb_version": _osb_version,
    "strict": _boolean,
    "max_body_bytes": _integer(1024),
    "header_timeout": _integer(1, 3600),
    "body_timeout": _integer(1, 3600),
    "max_connections": _integer(16, 100_000),
    "max_delayed": _integer(1, 10_000),
    "credential_seed": _optional_text,
    "sqlite_synchronous": _choice("OFF", "NORMAL", "FULL", "EXTRA", upper=True),
    "journal_size": _integer(0),
    "journal_max_bytes": _integer(MIN_JOURNAL_MAX_BYTES),
    "journal_admin": _boolean,
    "operation_retention": _integer(1),
    "platform_checks": _boolean,
    "orphan_mitigation_window": _integer(1, 86_400),
    "platform_checks_remembered_ids": _integer(1, 10_000_000),
    "public_url": _optional_text,
    "postgres_url": _optional_text,
    "mysql_url": _optional_text,
    "redis_url": _optional_text,
    "postgres_public_host": _optional_text,
    "postgres_public_port": _optional_port,
    "mysql_public_host": _optional_text,
    "mysql_public_port": _optional_port,
    "redis_public_host": _optional_text,
    "redis_public_port": _optional_port,
}


def _apply(
    values: dict[str, Any], source: Mapping[str, Any], describe: Callable[[str], str]
) -> None:
    for key, raw in source.items():
        parser = PARSERS.get(key)
        if parser is None:
            raise SettingsError(f"{describe(key)}: unknown setting")
        if raw is None:
            continue
        values[key] = parser(raw, describe(key))
        if key == "password":
            values["password_is_default"] = False


def read_config_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"config file {path}: {exc.strerror or exc}") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SettingsError(f"config file {path}: not valid YAML: {exc}") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise SettingsError(f"config file {path}: expected a mapping of settings at the top")
    return {str(key).replace("-", "_"): value for key, value in document.items()}


def load_settings(
    config_file: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    **flags: Any,
) -> Settings:
    """Build :class:`Settings` from defaults, a config file, the environment and flags.

    ``flags`` are the command-line values; ``None`` means "not given". ``env``
    defaults to :data:`os.environ`.
    """
    environment = os.environ if env is None else env
    values: dict[str, Any] = {}

    config_path = config_file or environment.get(f"{ENV_PREFIX}CONFIG") or None
    if config_path:
        path = Path(config_path)
        _apply(values, read_config_file(path), lambda key: f"config file {path}: {key}")

    from_env = {
        key: environment[f"{ENV_PREFIX}{key.upper()}"]
        for key in PARSERS
        if f"{ENV_PREFIX}{key.upper()}" in environment
    }
    _apply(values, from_env, lambda key: f"{ENV_PREFIX}{key.upper()}")

    given_flags = {key: value for key, value in flags.items() if value is not None}
    _apply(values, given_flags, lambda key: f"--{key.replace('_', '-')}")
    return Settings(**values)
