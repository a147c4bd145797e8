"""``${name}`` templates used in catalog knobs (extra credential keys, binding URLs,
dashboard URLs).

Deliberately tiny and closed: a template can only name the variables listed in
:data:`VARIABLES` and the generators in :data:`GENERATORS`, so a catalog sent over
the admin API cannot reach anything else (``str.format`` could walk attributes).
``$$`` is a literal dollar sign. Values may be nested mappings and lists; every
string inside is rendered.
"""

from __future__ import annotations

import base64
import random
import re
import textwrap
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from broker.credentials.randomness import random_text

__all__ = ["GENERATORS", "VARIABLES", "TemplateError", "render", "template_problems"]

PLACEHOLDER = re.compile(r"\$(\$|\{([a-z_]+)(?::(\d+))?\})")

# Variables a template may use, and where they have a value.
VARIABLES = {
    "instance_id": "instance",
    "binding_id": "binding",
    "service_id": "instance",
    "plan_id": "instance",
    "service": "instance",
    "plan": "instance",
    "organization_guid": "instance",
    "space_guid": "instance",
    "namespace": "instance",
    "base_url": "instance",
    "app_guid": "binding",
    "route": "binding",
    "username": "credentials",
    "password": "credentials",
    "host": "credentials",
    "port": "credentials",
    "database": "credentials",
    "uri": "credentials",
    "scheme": "credentials",
}


class TemplateError(ValueError):
    pass


def _hex(rng: random.Random, size: int | None) -> str:
    return random_text(rng, "0123456789abcdef", size or 32)


def _token(rng: random.Random, size: int | None) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return random_text(rng, alphabet, size or 24)


def _digits(rng: random.Random, size: int | None) -> str:
    return random_text(rng, "0123456789", size or 12)


def _uuid(rng: random.Random, _: int | None) -> str:
    value = _hex(rng, 32)
    return f"{value[:8]}-{value[8:12]}-4{value[13:16]}-a{value[17:20]}-{value[20:]}"


def _private_key(rng: random.Random, _: int | None) -> str:
    # Shaped like a PKCS#8 RSA key; random bytes, not a usable key.
    body = base64.b64encode(bytes(rng.getrandbits(8) for _ in range(1190))).decode()
    lines = "\n".join(textwrap.wrap(body, 64))
    return f"-----BEGIN PRIVATE KEY-----\n{lines}\n-----END PRIVATE KEY-----\n"


def _now(_: random.Random, __: int | None) -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


GENERATORS: dict[str, Callable[[random.Random, int | None], str]] = {
    "random_hex": _hex,
    "random_token": _token,
    "random_digits": _digits,
    "uuid": _uuid,
    "private_key": _private_key,
    "now": _now,
}


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")


def template_problems(value: Any, path: str, allowed: set[str]) -> list[tuple[str, str]]:
    """``(path, message)`` for every placeholder that names nothing usable here."""
    problems = []
    for where, text in _strings(value, path):
        for match in PLACEHOLDER.finditer(text):
            name = match.group(2)
            if match.group(1) == "$":
                continue
            if name in GENERATORS:
                continue
            if name not in VARIABLES:
                known = ", ".join(sorted([*VARIABLES, *GENERATORS]))
                problems.append((where, f"unknown template variable ${{{name}}} (known: {known})"))
            elif VARIABLES[name] not in allowed:
                problems.append((where, f"${{{name}}} has no value here"))
        if "${" in PLACEHOLDER.sub("", text):
            problems.append((where, "unterminated or malformed ${...} placeholder"))
    return problems


def render(value: Any, variables: Mapping[str, Any], rng: random.Random) -> Any:
    """Render every string in ``value``; unknown names raise :class:`TemplateError`."""
    if isinstance(value, str):
        return _render_text(value, variables, rng)
    if isinstance(value, Mapping):
        return {key: render(item, variables, rng) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [render(item, variables, rng) for item in value]
    return value


def _render_text(text: str, variables: Mapping[str, Any], rng: random.Random) -> str:
    def substitute(match: re.Match[str]) -> str:
        if match.group(1) == "$":
            return "$"
        name, size = match.group(2), match.group(3)
        if name in GENERATORS:
            return GENERATORS[name](rng, int(size) if size else None)
        if name not in variables or variables[name] is None:
            raise TemplateError(f"${{{name}}} has no value")
        return str(variables[name])

    return PLACEHOLDER.sub(substitute, text)
