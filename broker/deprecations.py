"""Renamed names that keep working for one release, with a :class:`DeprecationWarning`."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

__all__ = ["RenamedKeys", "warn_renamed"]


def warn_renamed(old: str, new: str, *, stacklevel: int = 3) -> None:
    """Warn that ``old`` is now called ``new`` (``stacklevel`` 3: the caller's caller)."""
    warnings.warn(
        f"{old} is deprecated and will be removed in the next release; use {new}",
        DeprecationWarning,
        stacklevel=stacklevel,
    )


class RenamedKeys(dict[str, Any]):
    """A JSON object whose keys were renamed: an old key still reads, with a warning.

    The object holds the new keys only (so it prints and compares as the API now
    answers); ``record["id"]`` or ``record.get("id")`` answers ``record["instance_id"]``
    and warns. ``renamed`` maps old keys to new ones; ``what`` names the object in the
    warning (``"a state instance"``).
    """

    def __init__(self, data: Mapping[str, Any], renamed: Mapping[str, str], what: str) -> None:
        super().__init__((key, value) for key, value in data.items() if key not in renamed)
        self._renamed = dict(renamed)
        self._what = what

    def _renamed_key(self, key: object) -> str | None:
        new = self._renamed.get(key) if isinstance(key, str) else None
        if new is None or new not in self:
            return None
        warn_renamed(f"{key!r} of {self._what}", repr(new), stacklevel=4)
        return new

    def __missing__(self, key: str) -> Any:
        new = self._renamed_key(key)
        if new is None:
            raise KeyError(key)
        return self[new]

    def get(self, key: str, default: Any = None) -> Any:
        if key not in self:
            new = self._renamed_key(key)
            if new is not None:
                return self[new]
        return super().get(key, default)
