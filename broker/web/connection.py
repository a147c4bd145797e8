"""What the WSGI server lets the application know and do about the client connection.

``mockbroker serve`` (:mod:`broker.serving.worker`) puts two callables in the
environ: ``mockbroker.client_gone()`` (the client has disconnected) and
``mockbroker.waiting()`` (a context manager: this request is about to wait without
using the CPU, let another request have its thread's place). The pytest plugin's
threaded server gives the socket instead (``mockbroker.socket``); Flask's test
client gives neither. These functions work with all three.
"""

from __future__ import annotations

import select
import socket
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any

__all__ = ["client_gone", "client_socket", "step_aside"]


def client_socket(environ: Mapping[str, Any]) -> socket.socket | None:
    sock = environ.get("gunicorn.socket") or environ.get("mockbroker.socket")
    return sock if isinstance(sock, socket.socket) else None


def client_gone(environ: Mapping[str, Any]) -> Callable[[], bool]:
    """A check whether the client has disconnected (always False if nobody can tell)."""
    told = environ.get("mockbroker.client_gone")
    if callable(told):
        checked: Callable[[], bool] = told
        return checked
    sock = client_socket(environ)
    if sock is None:
        return lambda: False
    return lambda: _peer_closed(sock)


def _peer_closed(sock: socket.socket) -> bool:
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return False
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except (BlockingIOError, InterruptedError):
        return False
    except OSError:
        return True


def step_aside(environ: Mapping[str, Any]) -> Callable[[], AbstractContextManager[None]]:
    """The server's context manager for a long idle wait, or one that does nothing."""
    waiting = environ.get("mockbroker.waiting")
    if callable(waiting):
        manager: Callable[[], AbstractContextManager[None]] = waiting
        return manager
    return nullcontext
