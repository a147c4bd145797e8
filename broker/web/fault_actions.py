"""Carrying out a fault rule's action on the HTTP exchange.

``hang`` and ``drop_connection`` need the client socket: gunicorn puts it in the
WSGI environ as ``gunicorn.socket``, mockbroker's threaded test server as
``mockbroker.socket``. Without a socket (Flask's test client) a drop answers
nothing useful, so it is reported as a 500 with a clear description instead.
"""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Mapping
from typing import Any

from flask import Response, g, request

from broker.web.errors import json_response

__all__ = [
    "HANG_LIMIT_SECONDS",
    "apply_response_modifiers",
    "fault_response",
    "interrupt",
    "replacement",
]

# A hang ends at the latest after this long (the worker thread is freed again).
HANG_LIMIT_SECONDS = 600.0
MALFORMED = b'{"description": "this body is deliberately cut sh'


def client_socket() -> socket.socket | None:
    sock = request.environ.get("gunicorn.socket") or request.environ.get("mockbroker.socket")
    return sock if isinstance(sock, socket.socket) else None


def _client_gone(sock: socket.socket) -> bool:
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return False
        return sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def _drop(sock: socket.socket | None) -> None:
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def interrupt(action: Mapping[str, Any]) -> Response | None:
    """Delay, hang or drop as the action says; a Response only if nothing else follows."""
    delay = action.get("delay_ms")
    if delay:
        time.sleep(delay / 1000)
    if action.get("hang"):
        sock = client_socket()
        deadline = time.monotonic() + HANG_LIMIT_SECONDS
        while time.monotonic() < deadline:
            if sock is not None and _client_gone(sock):
                break
            time.sleep(0.05)
        g.dropped = True
        _drop(sock)
        return json_response(
            {"error": "Hung", "description": "the fault rule hung this request"}, 504
        )
    if action.get("drop_connection"):
        sock = client_socket()
        g.dropped = True
        _drop(sock)
        return json_response(
            {"error": "ConnectionDropped", "description": "the fault rule dropped this connection"},
            500,
        )
    return None


def _body_bytes(action: Mapping[str, Any], default: object) -> bytes:
    body = action.get("body")
    if body == "malformed":
        return MALFORMED
    if body == "empty":
        return b""
    if body is not None:
        return json.dumps(body).encode()
    return json.dumps(default, separators=(",", ":")).encode()


def fault_response(action: Mapping[str, Any]) -> Response:
    """The answer for an action with a ``status``: an OSB error body unless told otherwise."""
    status = int(action["status"])
    default: dict[str, Any] = {}
    for key in ("error", "description", "instance_usable", "update_repeatable"):
        if key in action:
            default[key] = action[key]
    if not default and status >= 400:
        default = {"error": "InjectedFault", "description": f"fault rule answered {status}"}
    response = Response(_body_bytes(action, default), status=status, mimetype="application/json")
    return _content_type(response, action)


def replacement(action: Mapping[str, Any]) -> Response | None:
    """Carry out a delay, hang or drop; the answer that replaces the broker's, if any.

    A hang or a drop answers what :func:`interrupt` gives, an action with a ``status``
    its :func:`fault_response`; otherwise None (the broker's own answer stands).
    """
    interrupted = interrupt(action)
    if interrupted is not None:
        return interrupted
    if "status" in action:
        return fault_response(action)
    return None


def apply_response_modifiers(response: Response, action: Mapping[str, Any]) -> Response:
    """Change the body or Content-Type of the broker's own answer."""
    if "body" in action:
        response.set_data(_body_bytes(action, None))
    return _content_type(response, action)


def _content_type(response: Response, action: Mapping[str, Any]) -> Response:
    if "content_type" in action:
        value = action["content_type"]
        if value:
            response.headers["Content-Type"] = value
        else:
            del response.headers["Content-Type"]
    return response
