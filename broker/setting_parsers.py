"""How a setting's raw value (YAML, environment, flag) becomes its typed value.

Every parser is called as ``parse(value, where)`` and returns the value or raises
:class:`SettingsError` naming ``where`` (``BROKER_PORT``, ``--port``, ``config file
x.yaml: port``). :mod:`broker.config` builds its table of settings from them, and
credential backends declare their own settings with them
(:class:`broker.credentials.base.BackendSetting`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from broker.api_versions import parse_version

__all__ = [
    "Parser",
    "SettingsError",
    "admin_password",
    "boolean",
    "choice",
    "host",
    "integer",
    "missing_version_status",
    "optional",
    "optional_choice",
    "optional_port",
    "optional_text",
    "osb_version",
    "password",
    "path",
    "paths",
    "store",
    "text",
    "text_list",
    "tokens",
]

Parser = Callable[[Any, str], Any]


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names the source."""


def text(value: Any, where: str) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, (list, dict)):
        raise SettingsError(f"{where}: expected a string, got {value!r}")
    return str(value)


def password(value: Any, where: str) -> str:
    written = text(value, where)
    if not written:
        raise SettingsError(f"{where}: a password must not be empty")
    return written


def admin_password(value: Any, where: str) -> str:
    written = text(value, where)
    if not written:
        raise SettingsError(
            f"{where}: a password must not be empty (leave it unset to use the OSB credentials)"
        )
    return written


def host(value: Any, where: str) -> str:
    """A host name or address; an IPv6 address may come in URL brackets (``[::1]``)."""
    name = text(value, where)
    if name.startswith("[") and name.endswith("]"):
        return name[1:-1]
    return name


def integer(minimum: int, maximum: int | None = None) -> Parser:
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


def optional(parse: Parser) -> Parser:
    """``parse``, except that ``None`` or an empty value means unset (``None``)."""

    def parse_optional(value: Any, where: str) -> Any:
        if value is None or value == "":
            return None
        return parse(value, where)

    return parse_optional


optional_text = optional(text)
optional_port = optional(integer(1, 65535))


def boolean(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    written = str(value).strip().lower()
    if written in ("1", "true", "yes", "on"):
        return True
    if written in ("0", "false", "no", "off", ""):
        return False
    raise SettingsError(f"{where}: expected true or false, got {value!r}")


def choice(*choices: str, upper: bool = False) -> Parser:
    def parse(value: Any, where: str) -> str:
        written = text(value, where).strip()
        written = written.upper() if upper else written.lower()
        if written not in choices:
            raise SettingsError(f"{where}: must be one of {', '.join(choices)}, got {value!r}")
        return written

    return parse


def optional_choice(*choices: str) -> Parser:
    parse = choice(*choices)

    def parse_optional(value: Any, where: str) -> str | None:
        if value is None or value == "" or value == "auto":
            return None
        chosen: str = parse(value, where)
        return chosen

    return parse_optional


def text_list(value: Any, where: str, separator: str = ",") -> list[str]:
    if isinstance(value, (list, tuple)):
        return [text(item, where) for item in value]
    written = text(value, where)
    return [part.strip() for part in written.split(separator) if part.strip()]


def tokens(value: Any, where: str) -> tuple[str, ...]:
    tokens = tuple(text_list(value, where))
    if any(not token for token in tokens):
        raise SettingsError(f"{where}: bearer tokens must not be empty")
    return tokens


def paths(value: Any, where: str) -> tuple[Path, ...]:
    return tuple(Path(part) for part in text_list(value, where, separator=os.pathsep))


def path(value: Any, where: str) -> Path:
    return Path(text(value, where))


def missing_version_status(value: Any, where: str) -> int:
    status = integer(400, 412)(value, where)
    if status not in (400, 412):
        raise SettingsError(f"{where}: must be 400 or 412, got {status}")
    return int(status)


def osb_version(value: Any, where: str) -> tuple[int, int] | None:
    if value is None or value == "":
        return None
    # YAML reads an unquoted 2.13 as a number; its text is the same.
    try:
        return parse_version(text(value, where))
    except ValueError as exc:
        raise SettingsError(f"{where}: {exc}") from None


def store(value: Any, where: str) -> str | None:
    url: str | None = optional_text(value, where)
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
