"""Request parameters from ``spec.parameters`` and ``spec.parametersFrom`` Secrets.

The merge is top-level: a key given by two sources is an error. Each referenced
Secret value must hold a JSON object. What is recorded in the status replaces
every Secret-sourced value with ``"<redacted>"``; the checksum is the SHA-256 of
the real merged map as Go's JSON encoder writes it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from broker.controller.go_encoding import go_json
from broker.controller.objects.kinds import ObjectKey
from broker.controller.objects.store import State

__all__ = ["ParameterError", "Parameters", "build_parameters"]

REDACTED = "<redacted>"


class ParameterError(ValueError):
    pass


@dataclass(frozen=True)
class Parameters:
    values: dict[str, Any]
    redacted: dict[str, Any]

    @property
    def checksum(self) -> str | None:
        if not self.values:
            return None
        return hashlib.sha256(go_json(self.values).encode()).hexdigest()


def build_parameters(state: State, namespace: str, spec: dict[str, Any]) -> Parameters:
    values: dict[str, Any] = {}
    redacted: dict[str, Any] = {}
    for source in spec.get("parametersFrom") or []:
        ref = source["secretKeyRef"]
        from_secret = _secret_parameters(state, namespace, ref["name"], ref["key"])
        for key, value in from_secret.items():
            if key in values:
                raise ParameterError(f'conflict: duplicate entry for parameter "{key}"')
            values[key] = value
            redacted[key] = REDACTED
    for key, value in (spec.get("parameters") or {}).items():
        if key in values:
            raise ParameterError(f'conflict: duplicate entry for parameter "{key}"')
        values[key] = value
        redacted[key] = value
    return Parameters(values, redacted)


def _secret_parameters(state: State, namespace: str, name: str, key: str) -> dict[str, Any]:
    secret = state.get(ObjectKey("Secret", namespace, name))
    if secret is None:
        raise ParameterError(f'secrets "{name}" not found')
    raw = (secret.get("data") or {}).get(key)
    try:
        text = base64.b64decode(raw or "", validate=True).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ParameterError(
            f'secret "{namespace}/{name}" key "{key}" is not valid base64 text'
        ) from None
    try:
        loaded = json.loads(text)
    except ValueError as exc:
        raise ParameterError(f"failed to unmarshal parameters as JSON object: {exc}") from None
    if not isinstance(loaded, dict):
        raise ParameterError(
            "failed to unmarshal parameters as JSON object: "
            f"got a JSON {type(loaded).__name__} in {namespace}/{name}[{key}]"
        )
    return loaded
