"""The HTTP answers a fault rule makes, as status and bytes (no web framework here).

:mod:`broker.web.fault_actions` turns them into responses and carries out what
needs the connection itself (delays, hangs, drops).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from broker.faults.rules import Action
from broker.osb.errors import spec_sentence

__all__ = ["MALFORMED", "Answer", "body_bytes", "error_answer"]

# A JSON body cut short: what "body: malformed" sends.
MALFORMED = b'{"description": "this body is deliberately cut sh'


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


def body_bytes(action: Action, default: object) -> bytes:
    """The body an action sends: its own (``malformed``, ``empty``, an object) or ``default``."""
    body = action.body
    if body == "malformed":
        return MALFORMED
    if body == "empty":
        return b""
    if body is not None:
        return json.dumps(body).encode()
    return json.dumps(default, separators=(",", ":")).encode()


def error_answer(action: Action) -> Answer:
    """The answer of an action with a ``status``: an OSB error body unless told otherwise."""
    status = action.status
    if status is None:
        raise ValueError("the action sets no status")
    default: dict[str, Any] = action.error_fields()
    if not default and status >= 400:
        default = {"error": "InjectedFault", "description": f"fault rule answered {status}"}
    sentence = spec_sentence(default.get("error"))
    if sentence is not None and "description" not in default:
        # Clients recognise these codes by the spec's sentence alone.
        default["description"] = sentence
    return Answer(status, body_bytes(action, default))
