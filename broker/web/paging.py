"""Cursors for paged answers (``/admin/state``, ``/admin/operations``, the dashboard).

A cursor is opaque to clients: URL-safe base64 of a small JSON object saying where
each list stopped. A cursor that was not made here answers 400.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from broker.osb.errors import BadRequest
from broker.storage.base import Position

__all__ = ["decode_cursor", "encode_cursor", "position"]


def encode_cursor(where: dict[str, Any]) -> str:
    text = json.dumps(where, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(value: str | None, name: str = "cursor") -> dict[str, Any]:
    """The object of a cursor (``{}`` for none)."""
    if value is None:
        return {}
    try:
        decoded = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except (binascii.Error, ValueError):
        decoded = None
    if not isinstance(decoded, dict):
        raise BadRequest(f"{name} {value[:100]!r} is not one this broker gave out")
    return decoded


def position(value: Any, name: str = "cursor") -> Position | None:
    """A record's place in creation order, as a cursor holds it (``None``: the start)."""
    if value is None:
        return None
    if (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], (int, float))
        and not isinstance(value[0], bool)
        and isinstance(value[1], str)
    ):
        return (float(value[0]), value[1])
    raise BadRequest(f"{name} is not one this broker gave out")
