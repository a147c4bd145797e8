"""A binding's credentials as Secret data, exactly as Service Catalog maps them.

1. ``secretTransforms`` apply in order to the credentials map: ``addKey``
   (JSONPath > stringValue > value), ``renameKey`` (no-op if absent), ``addKeysFrom``
   (every entry of another Secret, any namespace), ``removeKey``.
2. Only top-level keys become Secret keys. Strings are written as their raw bytes,
   bytes as they are, everything else as Go's JSON (compact, sorted keys).
3. A key that is not a legal Secret key is an error.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from broker.controller.go_json import go_json
from broker.controller.kinds import ObjectKey
from broker.controller.store import State
from broker.controller.validation import SECRET_KEY

__all__ = ["SecretDataError", "jsonpath_template", "secret_data"]


class SecretDataError(ValueError):
    pass


def secret_data(
    state: State, credentials: dict[str, Any], transforms: list[dict[str, Any]]
) -> dict[str, str]:
    """Base64 ``data`` of the binding's Secret."""
    values: dict[str, Any] = dict(credentials)
    for transform in transforms:
        if "addKey" in transform:
            spec = transform["addKey"]
            if spec.get("jsonPathExpression"):
                values[spec["key"]] = jsonpath_template(spec["jsonPathExpression"], values).encode()
            elif spec.get("stringValue") is not None:
                values[spec["key"]] = spec["stringValue"].encode()
            else:
                values[spec["key"]] = base64.b64decode(spec.get("value") or "")
        elif "renameKey" in transform:
            spec = transform["renameKey"]
            if spec["from"] in values:
                values[spec["to"]] = values.pop(spec["from"])
        elif "addKeysFrom" in transform:
            ref = transform["addKeysFrom"]["secretRef"]
            other = state.get(ObjectKey("Secret", ref.get("namespace") or "", ref["name"]))
            if other is None:
                raise SecretDataError(
                    f'secrets "{ref["name"]}" not found in namespace "{ref.get("namespace")}"'
                )
            for key, value in (other.get("data") or {}).items():
                values[key] = base64.b64decode(value)
        elif "removeKey" in transform:
            values.pop(transform["removeKey"]["key"], None)
    data: dict[str, str] = {}
    for key, value in values.items():
        if not SECRET_KEY.match(key):
            raise SecretDataError(
                f'invalid Secret key "{key}": a valid key must consist of alphanumeric '
                "characters, '-', '_' or '.'"
            )
        data[key] = base64.b64encode(_as_bytes(value)).decode()
    return data


def _as_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    return go_json(value).encode()


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
            raise SecretDataError(
                f"unsupported JSONPath expression in {template!r} at {path[position:]!r}"
            )
        name, index, quoted = match.groups()
        if index is not None:
            if not isinstance(current, list) or int(index) >= len(current):
                raise SecretDataError(f"JSONPath {template!r}: index {index} out of range")
            current = current[int(index)]
        else:
            field = name if name is not None else quoted
            if not isinstance(current, dict) or field not in current:
                raise SecretDataError(f"JSONPath {template!r}: {field} is not found")
            current = current[field]
        position = match.end()
    return current


def _print(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, str):
        return value
    return go_json(value)
