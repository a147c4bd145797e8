"""Catalog problems: what is wrong, in which file, at which YAML path."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# Defined apart so the client can use them without importing the catalog package.
from broker.validation_messages import describe_messages, flatten_messages, join_path, message_texts

__all__ = [
    "CatalogError",
    "Problem",
    "describe_messages",
    "flatten_messages",
    "join_path",
    "message_texts",
]


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
