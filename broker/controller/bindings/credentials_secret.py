"""The Secret a ServiceBinding controls: written with an owner reference, never over a
Secret it does not own; before an unbind the Secret of its ``secretName`` is deleted,
whoever owns it, as Service Catalog does."""

from __future__ import annotations

import uuid
from typing import Any

from broker.controller.bindings.secret_data import SecretDataError
from broker.controller.objects.conditions import rfc3339
from broker.controller.objects.kinds import CATALOG_VERSION, ObjectKey
from broker.controller.objects.store import State

__all__ = [
    "check_secret_owner",
    "delete_owned_secret",
    "delete_secret_named",
    "write_secret",
]


def _owner(binding: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": CATALOG_VERSION,
        "kind": "ServiceBinding",
        "name": binding["metadata"]["name"],
        "uid": binding["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _secret_key(binding: dict[str, Any]) -> ObjectKey:
    return ObjectKey("Secret", binding["metadata"]["namespace"], binding["spec"]["secretName"])


def _controller_ref(secret: dict[str, Any]) -> dict[str, Any] | None:
    return next(
        (ref for ref in secret["metadata"].get("ownerReferences") or [] if ref.get("controller")),
        None,
    )


def check_secret_owner(state: State, binding: dict[str, Any]) -> None:
    """A Secret of that name that this binding does not control is never overwritten."""
    existing = state.get(_secret_key(binding))
    if existing is None:
        return
    ref = _controller_ref(existing)
    if ref is None or ref.get("uid") != binding["metadata"]["uid"]:
        key = _secret_key(binding)
        shown = f"{{{ref.get('kind')} {ref.get('name')} {ref.get('uid')}}}" if ref else "nil"
        raise SecretDataError(
            f'Secret "{key.namespace}/{key.name}" is not owned by ServiceBinding, '
            f"controllerRef: {shown}"
        )


def write_secret(state: State, binding: dict[str, Any], data: dict[str, str], now: float) -> None:
    check_secret_owner(state, binding)
    key = _secret_key(binding)
    existing = state.get(key)
    if existing is None:
        existing = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": key.name,
                "namespace": key.namespace,
                "uid": str(uuid.uuid4()),
                "creationTimestamp": rfc3339(now),
                "ownerReferences": [_owner(binding)],
            },
            "type": "Opaque",
        }
    existing["data"] = data
    state.put(existing)


def delete_owned_secret(state: State, binding: dict[str, Any]) -> None:
    existing = state.get(_secret_key(binding))
    if existing is not None:
        ref = _controller_ref(existing)
        if ref is not None and ref.get("uid") == binding["metadata"]["uid"]:
            state.remove(_secret_key(binding))


def delete_secret_named(state: State, binding: dict[str, Any]) -> None:
    """Delete the Secret named by ``spec.secretName``, owned by the binding or not."""
    if state.get(_secret_key(binding)) is not None:
        state.remove(_secret_key(binding))
