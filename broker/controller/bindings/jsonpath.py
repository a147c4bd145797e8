"""Kubernetes JSONPath templates, as a binding's ``addKey.jsonPathExpression`` uses them.

``{.uri}``, ``host={.host}:{.port}``, ``{$['key.json'].client_email}``,
``{.users[*].name}``, ``{.hosts[0]}``, ``{.hosts[-1]}``, ``{.hosts[1:3]}`` and
``{.options.*}`` are evaluated as client-go's ``jsonpath`` evaluates them against
the credentials, and every result is printed with Go's ``fmt`` (:func:`go_text`):
strings as they are, numbers as float64 (``1e+06``), lists as ``[a b]``, objects as
``map[a:x b:1]``; the results of one ``{…}`` are separated by spaces (``u1 u2``).
Filters (``[?(…)]``), recursive descent (``..``) and ``range`` are not supported.
"""

from __future__ import annotations

import re
from typing import Any

from broker.controller.go_encoding import go_text

__all__ = ["JSONPathError", "jsonpath_template"]

TEMPLATE = re.compile(r"\{([^{}]*)\}")
STEP = re.compile(
    r"""\.\*|\[\*\]|\.([^.\[\]]+)|\[\s*(-?\d*)\s*(?::\s*(-?\d*)\s*)?(?::\s*(-?\d*)\s*)?\]"""
    r"""|\[\s*'([^']*)'\s*\]|\[\s*"([^"]*)"\s*\]"""
)


class JSONPathError(ValueError):
    """The template cannot be evaluated against the credentials."""


def jsonpath_template(template: str, data: dict[str, Any]) -> str:
    """The text of ``template`` with every ``{…}`` replaced by what it finds in ``data``."""
    if template.count("{") != template.count("}"):
        raise JSONPathError(f"unclosed action in JSONPath template {template!r}")
    out: list[str] = []
    position = 0
    for match in TEMPLATE.finditer(template):
        out.append(template[position : match.start()])
        results = _evaluate(match.group(1).strip(), data, template)
        out.append(" ".join(go_text(result) for result in results))
        position = match.end()
    out.append(template[position:])
    return "".join(out)


def _evaluate(expression: str, data: Any, template: str) -> list[Any]:
    path = expression[1:] if expression.startswith("$") else expression
    current: list[Any] = [data]
    position = 0
    while position < len(path):
        match = STEP.match(path, position)
        if match is None or path.startswith("..", position):
            raise JSONPathError(
                f"unsupported JSONPath expression in {template!r} at {path[position:]!r}"
            )
        step = match.group(0)
        name = match.group(1) or match.group(5) or match.group(6)
        if step == ".*":
            current = _wildcard(current)
        elif step == "[*]":
            current = _slice(current, None, None, None, False)
        elif name is not None:
            current = _field(current, name)
        else:
            single = ":" not in step
            current = _slice(current, match.group(2), match.group(3), match.group(4), single)
        position = match.end()
    return current


def _field(values: list[Any], name: str) -> list[Any]:
    found = [value[name] for value in values if isinstance(value, dict) and name in value]
    if not found:
        raise JSONPathError(f"{name} is not found")
    return found


def _wildcard(values: list[Any]) -> list[Any]:
    found: list[Any] = []
    for value in values:
        if isinstance(value, dict):
            found.extend(value[key] for key in sorted(value, key=str))
        elif isinstance(value, (list, tuple)):
            found.extend(value)
        elif isinstance(value, str):
            found.extend(value.encode())
    return found


def _slice(
    values: list[Any], start: str | None, end: str | None, step: str | None, single: bool
) -> list[Any]:
    """client-go's array node: ``[n]``, ``[-n]``, ``[a:b]``, ``[a:b:s]`` and ``[*]``."""
    found: list[Any] = []
    for value in values:
        if value is None:
            continue
        if isinstance(value, (bytes, bytearray)):
            value = list(value)
        if not isinstance(value, (list, tuple)):
            raise JSONPathError(f"{_go_type(value)} is not array or slice")
        length = len(value)
        first = int(start) if start else 0
        if first < 0:
            first += length
        if single:
            last = first + 1
        else:
            last = int(end) if end else length
            if last < 0:
                last += length
        if first == last:
            continue
        if not 0 <= first < length:
            raise JSONPathError(f"array index out of bounds: index {first}, length {length}")
        if not 0 <= last <= length:
            raise JSONPathError(f"array index out of bounds: index {last - 1}, length {length}")
        if first > last:
            raise JSONPathError(f"starting index {first} is greater than ending index {last}")
        stride = int(step) if step else 1
        if stride <= 0:
            raise JSONPathError("step must be > 0")
        found.extend(value[first:last:stride])
    return found


def _go_type(value: Any) -> str:
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (bytes, bytearray)):
        return "[]uint8"
    return "float64"
