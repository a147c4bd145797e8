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
from typing import Any

from broker.controller.bindings.jsonpath import JSONPathError, jsonpath_template
from broker.controller.go_encoding import go_json
from broker.controller.objects.kinds import ObjectKey
from broker.controller.objects.store import State
from broker.controller.objects.validation import SECRET_KEY

__all__ = ["SecretDataError", "secret_data"]


class SecretDataError(ValueError):
    """The Secret cannot be written: a transform failed or a key is not a legal Secret key."""


def secret_data(
    state: State, credentials: dict[str, Any], transforms: list[dict[str, Any]]
) -> dict[str, str]:
    """Base64 ``data`` of the binding's Secret."""
    values: dict[str, Any] = dict(credentials)
    for transform in transforms:
        if "addKey" in transform:
            spec = transform["addKey"]
            if spec.get("jsonPathExpression"):
                try:
                    text = jsonpath_template(spec["jsonPathExpression"], values)
                except JSONPathError as exc:
                    raise SecretDataError(str(exc)) from None
                values[spec["key"]] = text.encode()
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
