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
from typing import TYPE_CHECKING, Any

from broker import setting_parsers as parsers
from broker.journal.retention import DEFAULT_MAX_BYTES as DEFAULT_JOURNAL_MAX_BYTES
from broker.journal.retention import MIN_MAX_BYTES as MIN_JOURNAL_MAX_BYTES
from broker.setting_parsers import Parser, SettingsError

if TYPE_CHECKING:
    from broker.credentials.base import BackendSetting

__all__ = ["BasicCredential", "Settings", "SettingsError", "load_settings"]

ENV_PREFIX = "BROKER_"
# The password everyone knows (the default): accepted on loopback only, set or not.
WELL_KNOWN_PASSWORD = "broker"


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
    # The settings credential backends declare (BROKER_POSTGRES_URL, ...; see
    # broker.credentials.base.BackendSetting) by name; one not here has its default.
    backend_settings: Mapping[str, Any] = field(default_factory=dict, repr=False, hash=False)
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
        """A copy with ``changes``; a backend's setting is changed by its name too
        (``replace(postgres_url=...)``)."""
        declared = [name for name in changes if name not in SETTING_FIELDS]
        if declared:
            known = declared_backend_settings()
            unknown = [name for name in declared if name not in known]
            if unknown:
                raise TypeError(f"no setting named {', '.join(map(repr, unknown))}")
            backend = {name: changes.pop(name) for name in declared}
            changes["backend_settings"] = {**self.backend_settings, **backend}
        return dataclasses.replace(self, **changes)

    def backend_setting(self, declared: BackendSetting) -> Any:
        """The value of a setting a credential backend declares (its default when unset)."""
        return self.backend_settings.get(declared.name, declared.default)

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


def _users(value: Any, where: str) -> tuple[BasicCredential, ...]:
    pairs: list[BasicCredential] = []
    items: list[Any] = (
        list(value) if isinstance(value, (list, tuple)) else parsers.text_list(value, where)
    )
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


PARSERS: dict[str, Parser] = {
    "host": parsers.host,
    "port": parsers.integer(0, 65535),
    "username": parsers.text,
    "password": parsers.password,
    "users": _users,
    "bearer_tokens": parsers.tokens,
    "admin_username": parsers.optional_text,
    "admin_password": parsers.admin_password,
    "catalogs": parsers.paths,
    "store": parsers.store,
    "data_dir": parsers.path,
    "workers": parsers.optional(parsers.integer(1)),
    "threads": parsers.integer(1, 256),
    "timeout": parsers.integer(1),
    "log_format": parsers.optional_choice("json", "text"),
    "log_level": parsers.choice("DEBUG", "INFO", "WARNING", "ERROR", upper=True),
    "missing_version_status": parsers.missing_version_status,
    "osb_version": parsers.osb_version,
    "strict": parsers.boolean,
    "max_body_bytes": parsers.integer(1024),
    "header_timeout": parsers.integer(1, 3600),
    "body_timeout": parsers.integer(1, 3600),
    "max_connections": parsers.integer(16, 100_000),
    "max_delayed": parsers.integer(1, 10_000),
    "credential_seed": parsers.optional_text,
    "sqlite_synchronous": parsers.choice("OFF", "NORMAL", "FULL", "EXTRA", upper=True),
    "journal_size": parsers.integer(0),
    "journal_max_bytes": parsers.integer(MIN_JOURNAL_MAX_BYTES),
    "journal_admin": parsers.boolean,
    "operation_retention": parsers.integer(1),
    "platform_checks": parsers.boolean,
    "orphan_mitigation_window": parsers.integer(1, 86_400),
    "platform_checks_remembered_ids": parsers.integer(1, 10_000_000),
    "public_url": parsers.optional_text,
}


SETTING_FIELDS = frozenset(settings_field.name for settings_field in dataclasses.fields(Settings))


def declared_backend_settings() -> dict[str, BackendSetting]:
    """Every setting the credential backends declare (built-in ones and those of the
    entry-point group), by name; :class:`SettingsError` when two settings share one."""
    # Imported here: the registry finds the backends, whose modules use this one.
    from broker.credentials.registry import backend_classes

    declared: dict[str, BackendSetting] = {}
    owners: dict[str, str] = {}
    for backend, cls in sorted(backend_classes().items()):
        for setting in getattr(cls, "settings", ()):
            variable = f"{ENV_PREFIX}{setting.name.upper()}"
            if setting.name in SETTING_FIELDS:
                raise SettingsError(
                    f"credential backend {backend!r} declares the setting {setting.name!r} "
                    f"({variable}), which is one of the broker's own"
                )
            if declared.get(setting.name, setting) is not setting:
                raise SettingsError(
                    f"credential backends {owners[setting.name]!r} and {backend!r} both "
                    f"declare the setting {setting.name!r} ({variable})"
                )
            declared[setting.name] = setting
            owners.setdefault(setting.name, backend)
    return declared


class _Values:
    """The values read so far: the core settings, and those of the backends."""

    def __init__(self, declared: Mapping[str, BackendSetting]) -> None:
        self.declared = declared
        self.core: dict[str, Any] = {}
        self.backends: dict[str, Any] = {}

    def apply(self, source: Mapping[str, Any], describe: Callable[[str], str]) -> None:
        for key, raw in source.items():
            setting = self.declared.get(key)
            parser = PARSERS.get(key) if setting is None else setting.parse
            if parser is None:
                raise SettingsError(f"{describe(key)}: unknown setting")
            if raw is None:
                continue
            (self.core if setting is None else self.backends)[key] = parser(raw, describe(key))
            if key == "password":
                self.core["password_is_default"] = False


def read_config_file(path: Path) -> dict[str, Any]:
    import yaml  # here: most brokers start without a config file

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
    values = _Values(declared_backend_settings())

    config_path = config_file or environment.get(f"{ENV_PREFIX}CONFIG") or None
    if config_path:
        path = Path(config_path)
        values.apply(read_config_file(path), lambda key: f"config file {path}: {key}")

    from_env = {
        key: environment[f"{ENV_PREFIX}{key.upper()}"]
        for key in (*PARSERS, *values.declared)
        if f"{ENV_PREFIX}{key.upper()}" in environment
    }
    values.apply(from_env, lambda key: f"{ENV_PREFIX}{key.upper()}")

    given_flags = {key: value for key, value in flags.items() if value is not None}
    values.apply(given_flags, lambda key: f"--{key.replace('_', '-')}")
    return Settings(**values.core, backend_settings=values.backends)
