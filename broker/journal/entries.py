"""What one journal entry may hold: every part bounded, every cut marked.

* A request or response body over :data:`MAX_BODY_BYTES` is recorded as
  ``{"truncated": true, "bytes": N}``; a shorter one as its JSON value, or as text
  when it is not JSON the broker takes in (invalid, too deeply nested, NaN ...).
* A header value over :data:`MAX_HEADER_VALUE` characters is cut and ends in
  ``…[truncated: N characters]``; headers beyond :data:`MAX_HEADERS_BYTES` in all
  are left out. Secret-bearing headers are redacted (:mod:`broker.redaction`).
* The path, each query value and the originating identity are cut at
  :data:`MAX_TEXT` characters the same way.
* Whatever is left, the encoded entry is at most :data:`MAX_ENTRY_BYTES`: parts are
  summarised, largest first, until it fits. ``truncated`` lists the parts that were
  cut, so a test can tell a short entry from a shortened one.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from typing import Any

from broker.decoding import DecodingError, decode_json
from broker.redaction import REDACTED, is_sensitive, mask_text

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_ENTRY_BYTES",
    "MAX_HEADERS_BYTES",
    "MAX_HEADER_VALUE",
    "MAX_TEXT",
    "body",
    "bounded",
    "cut",
    "headers",
    "summary",
]

MAX_BODY_BYTES = 16 * 1024
MAX_HEADER_VALUE = 1024
MAX_HEADERS_BYTES = 8 * 1024
MAX_TEXT = 2048
MAX_ENTRY_BYTES = 64 * 1024
# JSON text is at most six times the characters it encodes (a control character
# becomes \u00XX): entries estimated below this need no check.
_SAFE_ESTIMATE = MAX_ENTRY_BYTES // 6
# The parts that may be summarised to make an entry fit, in that order.
_SHRINKABLE = ("body", "response", "headers", "originating_identity", "query")


def cut(text: str, limit: int = MAX_TEXT) -> str:
    """``text``, or its first ``limit`` characters and a marker saying how long it was."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…[truncated: {len(text)} characters]"


def summary(size: int) -> dict[str, Any]:
    """What stands for a body (or another part) too large to record."""
    return {"truncated": True, "bytes": size}


def body(raw: bytes) -> Any:
    """A request or response body as recorded: its JSON value, text, a summary or None."""
    if not raw:
        return None
    if len(raw) > MAX_BODY_BYTES:
        return summary(len(raw))
    try:
        return decode_json(raw)
    except DecodingError:
        return raw.decode("utf-8", "replace")


def headers(items: Iterable[tuple[str, str]]) -> tuple[dict[str, str], int, bool]:
    """The headers as recorded, their size in characters, and whether any was cut."""
    recorded: dict[str, str] = {}
    used = 0
    truncated = False
    for name, value in items:
        if _sensitive_header(name):
            value = REDACTED
        else:
            if len(value) > MAX_HEADER_VALUE:
                value = cut(value, MAX_HEADER_VALUE)
                truncated = True
            if "@" in value or "=" in value:
                value = mask_text(value)
        size = len(name) + len(value)
        if used + size > MAX_HEADERS_BYTES:
            truncated = True
            continue
        used += size
        recorded[name] = value
    return recorded, used, truncated


# Requests repeat their header names: whether one is secret-bearing is decided once.
_sensitive_header = functools.lru_cache(maxsize=512)(is_sensitive)


def bounded(entry: dict[str, Any], estimate: int) -> dict[str, Any]:
    """``entry`` made to fit :data:`MAX_ENTRY_BYTES` once encoded.

    ``estimate`` is about how many characters the entry's parts hold (raw bodies,
    headers, path); below a sixth of the limit the entry fits whatever it holds,
    and is returned without being encoded.
    """
    if estimate <= _SAFE_ESTIMATE:
        return entry
    size = len(json.dumps(entry, separators=(",", ":")))
    if size <= MAX_ENTRY_BYTES:
        return entry
    fitted = dict(entry)
    truncated = list(fitted.get("truncated") or ())
    parts = sorted(
        (key for key in _SHRINKABLE if fitted.get(key) is not None),
        key=lambda key: len(json.dumps(fitted[key])),
        reverse=True,
    )
    for key in parts:
        part_size = len(json.dumps(fitted[key]))
        fitted[key] = summary(part_size)
        if key not in truncated:
            truncated.append(key)
        size -= part_size
        if size <= MAX_ENTRY_BYTES:
            break
    fitted["truncated"] = truncated
    return fitted
