"""Decoding JSON and YAML that comes from outside, within limits.

Every request body, the originating-identity header and every catalog document
(files and ``PUT /admin/catalog``) are decoded here, so whatever gets into the
broker is bounded the same way:

* **Nesting**: at most :data:`MAX_NESTING` levels of objects and arrays. Deeper
  documents are refused before anything is stored, so every walk over stored data
  (redaction, fingerprints, templating, JSON encoding, page rendering) is safe.
* **Numbers**: ``NaN``, ``Infinity`` and numbers too large for a float (``1e999``)
  are refused: they cannot be written back as JSON.
* **NUL**: a string holding U+0000 is refused: PostgreSQL cannot store one, and
  every store must answer the same.
* **YAML**: aliases may not refer to a node that is still open (a recursive
  document), and the document with every alias expanded may hold at most
  :data:`MAX_YAML_NODES` nodes (a "billion laughs" alias bomb is refused, not
  expanded).

The checks cost nothing measurable on ordinary requests: the nesting walk only runs
when the text holds more brackets than the limit, the NUL walk only when the text
holds an escaped NUL.

JSON is parsed by orjson (a third of the standard library's time on a request body).
Where orjson would answer differently, the standard library's decoder decides: any
text orjson refuses (it refuses NaN, Infinity, numbers beyond a float and lone
surrogates; the error then says what the standard decoder says), and integers of 19
digits or more, which orjson would turn into floats.
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson
import yaml
from yaml.events import AliasEvent
from yaml.nodes import Node

__all__ = [
    "MAX_NESTING",
    "MAX_YAML_NODES",
    "DecodingError",
    "YAMLLimitError",
    "decode_json",
    "decode_yaml",
    "nesting_exceeds",
]

MAX_NESTING = 64
MAX_YAML_NODES = 200_000
NUL = "\x00"


class DecodingError(ValueError):
    """The text cannot be taken in; the message says why (no subject, e.g. "is not valid JSON")."""


class YAMLLimitError(yaml.YAMLError):
    """A YAML document over a limit (callers that report YAML errors report these too)."""


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise DecodingError(f"holds the number {text[:40]}, too large for a float")
    return value


def _no_constant(text: str) -> Any:
    raise DecodingError(f"holds {text}, which JSON does not allow")


_DECODER = json.JSONDecoder(parse_float=_finite, parse_constant=_no_constant)
# An integer orjson cannot keep exact (beyond 64 bits) holds 19 digits or more in a
# row; a false alarm (a long run of digits in a string) only costs the slower decoder.
# Found by mapping every digit to 9 and looking for nineteen 9s: a tenth of a regex.
_DIGITS_AS_NINES = bytes.maketrans(b"0123456789", b"9999999999")
_LONG_DIGITS = b"9" * 19


def decode_json(raw: bytes | str) -> Any:
    """The JSON value of ``raw``, or :class:`DecodingError` saying what is wrong with it."""
    if type(raw) is bytes and raw.count(b"[") + raw.count(b"{") <= MAX_NESTING:
        if _LONG_DIGITS not in raw.translate(_DIGITS_AS_NINES):
            try:
                value = orjson.loads(raw)
            except orjson.JSONDecodeError:
                pass  # the standard decoder says what is wrong, below
            else:
                if b"\\u0000" in raw and _holds_nul(value):
                    raise DecodingError(
                        "holds a NUL character (\\u0000), which the broker does not store"
                    )
                return value
    return _decode_standard(raw)


def _decode_standard(raw: bytes | str) -> Any:
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise DecodingError("is not valid JSON (not UTF-8)") from None
    if text.count("[") + text.count("{") > MAX_NESTING and _text_nesting(text) > MAX_NESTING:
        raise DecodingError(f"nests objects and arrays deeper than {MAX_NESTING} levels")
    try:
        value = _DECODER.decode(text)
    except DecodingError:
        raise
    except (ValueError, RecursionError):
        raise DecodingError("is not valid JSON") from None
    if "\\u0000" in text and _holds_nul(value):
        raise DecodingError("holds a NUL character (\\u0000), which the broker does not store")
    return value


def _text_nesting(text: str) -> int:
    """How deep the brackets of JSON text nest, not counting those inside strings."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "[" or char == "{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_NESTING:
                    return deepest
        elif char == "]" or char == "}":
            depth -= 1
    return deepest


def nesting_exceeds(value: Any, limit: int = MAX_NESTING) -> bool:
    """Whether a decoded value nests objects and arrays deeper than ``limit`` (no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _holds_nul(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if NUL in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


# --- YAML -----------------------------------------------------------------------------


class _LimitedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, counting nesting and alias expansion while it composes."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._expanded = 0
        self._sizes: dict[str, int] = {}

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(AliasEvent):
            event = self._next_event()
            size = self._sizes.get(event.anchor or "")
            if size is None and event.anchor in self.anchors:
                raise YAMLLimitError(
                    f"line {event.start_mark.line + 1}: alias *{event.anchor} refers to a node "
                    "that contains it (a recursive document)"
                )
            self._count(size or 1)
            return super().compose_node(parent, index)
        self._depth += 1
        event = self._next_event()
        if self._depth > MAX_NESTING:
            line = event.start_mark.line + 1
            raise YAMLLimitError(f"line {line}: nests deeper than {MAX_NESTING} levels")
        anchor = event.anchor
        before = self._expanded
        self._count(1)
        node = super().compose_node(parent, index)
        self._depth -= 1
        if anchor is not None:
            self._sizes[anchor] = self._expanded - before
        return node

    def _next_event(self) -> Any:
        return self.peek_event()  # type: ignore[no-untyped-call]

    def _count(self, nodes: int) -> None:
        self._expanded += nodes
        if self._expanded > MAX_YAML_NODES:
            raise YAMLLimitError(
                f"expands to more than {MAX_YAML_NODES} values once its aliases are "
                "followed (an alias bomb?)"
            )


def decode_yaml(text: str | bytes) -> Any:
    """Like ``yaml.safe_load`` within the limits; raises ``yaml.YAMLError`` (or
    :class:`DecodingError` for a NUL, NaN or Infinity, which JSON cannot carry)."""
    source = text.decode("utf-8") if isinstance(text, bytes) else text
    value = _fast_yaml(source)
    if value is _SLOW:
        loader = _LimitedLoader(source)
        try:
            value = loader.get_single_data()
        finally:
            loader.dispose()
    _check_yaml_values(value)
    return value


_SLOW = object()
_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", None)


def _fast_yaml(source: str) -> Any:
    """The document through libyaml when it is plainly within the limits, else ``_SLOW``.

    The limits are checked on the loaded value, with aliases followed as the counting
    loader follows them (a shared value counts again wherever it is used; a recursive
    one runs into the node limit). Merge keys (``<<``) are left to the counting loader:
    merged values no longer show how many nodes were composed. Anything not plainly
    fine, an error included, goes to the counting loader, which says what is wrong
    exactly as before. The bundled catalogs parse this way in a fraction of the time.
    """
    if _FAST_LOADER is None or "<<" in source:
        return _SLOW
    try:
        value = yaml.load(source, Loader=_FAST_LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError:
        return _SLOW
    if not _plainly_within_limits(value):
        return _SLOW
    return value


def _plainly_within_limits(value: Any) -> bool:
    nodes = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if depth >= MAX_NESTING or nodes >= MAX_YAML_NODES:
            return False
        if isinstance(item, dict):
            nodes += len(item)  # the keys
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return True


def _check_yaml_values(value: Any) -> None:
    stack = [value]
    seen: set[int] = set()
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if NUL in item:
                raise DecodingError(
                    "holds a NUL character (\\u0000), which the broker does not store"
                )
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise DecodingError(f"holds {item}, which JSON does not allow")
        elif isinstance(item, (dict, list)):
            if id(item) in seen:  # an alias: its values were checked where it was anchored
                continue
            seen.add(id(item))
            stack.extend(item.keys() if isinstance(item, dict) else ())
            stack.extend(item.values() if isinstance(item, dict) else item)
