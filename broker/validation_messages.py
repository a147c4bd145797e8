"""marshmallow's nested validation messages as flat, readable text.

Free of dependencies beyond the standard library, so the client can use it without
importing the catalog model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["describe_messages", "flatten_messages", "join_path", "message_texts"]


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


def message_texts(messages: Any, base: str = "") -> list[str]:
    """Each message as ``"path: message"`` (just the message where there is no path)."""
    return [f"{path}: {text}" if path else text for path, text in flatten_messages(messages, base)]


def describe_messages(messages: Any, base: str = "") -> str:
    """Every message in one line: :func:`message_texts` joined by ``"; "``."""
    return "; ".join(message_texts(messages, base))
