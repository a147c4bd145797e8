"""Kubernetes JSONPath templates, as a binding's ``addKey.jsonPathExpression`` uses them."""

from __future__ import annotations

import re
from typing import Any

from broker.controller.go_encoding import go_json

__all__ = ["JSONPathError", "jsonpath_template"]


class JSONPathError(ValueError):
    """The template cannot be evaluated against the credentials."""


TEMPLATE = re.compile(r"\{([^{}]*)\}")
SEGMENT = re.compile(r"""\.([^.\[\]]+)|\[(\d+)\]|\[['"]([^'"]+)['"]\]""")


def jsonpath_template(template: str, data: dict[str, Any]) -> str:
    """Evaluate a Kubernetes JSONPath template such as ``{.foo.bar}`` or ``host={.host}``.

    Supported: field names, ``['quoted.names']`` and ``[index]``, with or without a
    leading ``$``. Strings print raw; other values print as JSON.
    """
    out: list[str] = []
    position = 0
    for match in TEMPLATE.finditer(template):
        out.append(template[position : match.start()])
        out.append(_print(_evaluate(match.group(1).strip(), data, template)))
        position = match.end()
    out.append(template[position:])
    return "".join(out)


def _evaluate(expression: str, data: Any, template: str) -> Any:
    path = expression[1:] if expression.startswith("$") else expression
    if not path:
        return data
    current = data
    position = 0
    while position < len(path):
        match = SEGMENT.match(path, position)
        if match is None:
            raise JSONPathError(
                f"unsupported JSONPath expression in {template!r} at {path[position:]!r}"
            )
        name, index, quoted = match.groups()
        if index is not None:
            if not isinstance(current, list) or int(index) >= len(current):
                raise JSONPathError(f"JSONPath {template!r}: index {index} out of range")
            current = current[int(index)]
        else:
            field = name if name is not None else quoted
            if not isinstance(current, dict) or field not in current:
                raise JSONPathError(f"JSONPath {template!r}: {field} is not found")
            current = current[field]
        position = match.end()
    return current


def _print(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, str):
        return value
    return go_json(value)
