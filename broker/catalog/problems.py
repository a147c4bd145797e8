"""Catalog problems: what is wrong, in which file, at which YAML path."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["CatalogError", "Problem", "flatten_messages", "join_path"]


@dataclass(frozen=True, order=True)
class Problem:
    source: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source}: {self.path}" if self.path else self.source
        return f"{where}: {self.message}"


class CatalogError(ValueError):
    """The catalog cannot be used; :attr:`problems` lists every reason."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(set(problems), key=lambda p: (p.source, p.path, p.message))
        super().__init__("\n".join(str(problem) for problem in self.problems))

    @property
    def description(self) -> str:
        return "; ".join(str(problem) for problem in self.problems)


def join_path(base: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{base}[{key}]"
    if key == "_schema":
        return base
    return f"{base}.{key}" if base else key


def flatten_messages(messages: Any, base: str = "") -> list[tuple[str, str]]:
    """Turn marshmallow's nested error messages into ``(yaml_path, message)`` pairs."""
    flat: list[tuple[str, str]] = []
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            flat.extend(flatten_messages(value, join_path(base, key)))
    elif isinstance(messages, (list, tuple)):
        for item in messages:
            if isinstance(item, (Mapping, list, tuple)):
                flat.extend(flatten_messages(item, base))
            else:
                flat.append((base, str(item)))
    else:
        flat.append((base, str(messages)))
    return flat
