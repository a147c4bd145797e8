"""Carrying out a fault rule's action on the HTTP exchange.

``hang`` and ``drop_connection`` need the client socket: gunicorn puts it in the
WSGI environ as ``gunicorn.socket``, mockbroker's threaded test server as
``mockbroker.socket``. Without a socket (Flask's test client) a drop answers
nothing useful, so it is reported as a 500 with a clear description instead.

Delays and hangs wait through :class:`broker.faults.waits.FaultWaits`: they end
early when the client disconnects (the request is then abandoned: no answer, and a
delay before the broker acts changes nothing) or when the rule is deleted or reset
(a delay goes on with the rest of the action; a hang drops the connection, as a
hang that ran its course does). Beyond ``max_delayed`` waiting requests in one
process, a request the rule would delay or hang is answered 503 with
``Retry-After`` instead of being held.
"""

from __future__ import annotations

import socket

from flask import Response, request

from broker.faults.answers import body_bytes, error_answer
from broker.faults.engine import Fired
from broker.faults.rules import Action
from broker.faults.waits import HANG_LIMIT_SECONDS, TooManyWaits, WaitEnd
from broker.web.connection import client_gone, client_socket, step_aside
from broker.web.errors import json_response
from broker.web.request_state import current
from broker.web.runtime import current_runtime

__all__ = [
    "HANG_LIMIT_SECONDS",
    "apply_response_modifiers",
    "fault_response",
    "interrupt",
    "replacement",
]


def _drop(sock: socket.socket | None) -> None:
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _dropped(error: str, description: str, status: int) -> Response:
    """Close the connection without an answer (the journal records no status)."""
    current()[1].dropped = True
    _drop(client_socket(request.environ))
    return json_response({"error": error, "description": description}, status)


def _wait(fired: Fired, seconds: float) -> WaitEnd:
    environ = request.environ
    return current_runtime().fault_waits.wait(
        fired, seconds, client_gone(environ), step_aside(environ)
    )


def _too_many(exc: TooManyWaits) -> Response:
    return json_response(
        {
            "error": "TooManyDelayedRequests",
            "description": (
                f"the fault rule would delay or hang this request, but {exc.limit} requests "
                "already wait in this worker (the max_delayed setting); it was refused "
                "instead of held"
            ),
        },
        503,
        {"Retry-After": "1"},
    )


def interrupt(fired: Fired) -> Response | None:
    """Delay, hang or drop as the action says; a Response only if nothing else follows."""
    action = fired.rule.action
    try:
        delay = action.delay_ms
        if delay and _wait(fired, delay / 1000) is WaitEnd.CLIENT_GONE:
            return _dropped("ClientGone", "the client disconnected during the delay", 499)
        if action.hang:
            _wait(fired, HANG_LIMIT_SECONDS)
            return _dropped("Hung", "the fault rule hung this request", 504)
    except TooManyWaits as exc:
        return _too_many(exc)
    if action.drop_connection:
        sock = client_socket(request.environ)
        current()[1].dropped = True
        _drop(sock)
        return json_response(
            {"error": "ConnectionDropped", "description": "the fault rule dropped this connection"},
            500,
        )
    return None


def fault_response(action: Action) -> Response:
    """The answer for an action with a ``status``."""
    answer = error_answer(action)
    response = Response(answer.body, status=answer.status, mimetype="application/json")
    return _content_type(response, action)


def replacement(fired: Fired) -> Response | None:
    """Carry out a delay, hang or drop; the answer that replaces the broker's, if any.

    A hang or a drop answers what :func:`interrupt` gives, an action with a ``status``
    its :func:`fault_response`; otherwise None (the broker's own answer stands).
    """
    action = fired.rule.action
    interrupted = interrupt(fired)
    if interrupted is not None:
        return interrupted
    if action.status is not None:
        return fault_response(action)
    return None


def apply_response_modifiers(response: Response, action: Action) -> Response:
    """Change the body or Content-Type of the broker's own answer."""
    if action.body is not None:
        response.set_data(body_bytes(action, None))
    return _content_type(response, action)


def _content_type(response: Response, action: Action) -> Response:
    value = action.content_type
    if value is not None:
        if value:
            response.headers["Content-Type"] = value
        else:
            del response.headers["Content-Type"]
    return response
