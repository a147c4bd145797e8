"""One client connection of the event-loop worker, and the states it goes through.

A connection is ``reading`` while the loop gathers its next request, ``busy`` while a
lane's thread answers one (the loop keeps reading ahead meanwhile), ``lingering``
while it is drained before the close, and ``closed`` at the end. The loop and the
answering thread share it: the fields they both change are changed under ``lock``.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

from broker.serving.framing import Framing

__all__ = ["BUSY", "CLOSED", "LINGERING", "READING", "Connection"]

READING = "reading"
BUSY = "busy"
LINGERING = "lingering"
CLOSED = "closed"


class Connection:
    __slots__ = (
        "sock",
        "fd",
        "client",
        "server",
        "lock",
        "buffer",
        "framing",
        "state",
        "since",
        "deadline",
        "reused",
        "body_deadline_set",
        "continued",
        "registered",
        "paused",
        "gone",
        "requests",
        "trusted_peer",
    )

    def __init__(self, sock: socket.socket, client: Any, server: Any, now: float) -> None:
        self.sock = sock
        self.fd = sock.fileno()
        self.client = client
        self.server = server
        self.lock = threading.Lock()
        self.buffer = bytearray()
        self.framing = Framing()
        self.state = READING
        self.since = now  # waiting for a request since
        self.deadline = now
        self.reused = False
        self.body_deadline_set = False
        self.continued = False
        self.registered = False
        self.paused = False
        self.gone = False  # the client closed its side (or the worker is stopping)
        self.requests = 0
        # Whether the peer may set forwarding headers: decided on the first request.
        self.trusted_peer: bool | None = None

    def client_gone(self) -> bool:
        return self.gone

    def new_request(self) -> None:
        self.framing = Framing()
        self.body_deadline_set = False
        self.continued = False
