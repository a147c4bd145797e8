"""Writing answers to a non-blocking client socket, within a time limit.

The answering thread writes gunicorn's ``Response`` into a :class:`ResponseWriter`
instead of the socket, so an answer leaves in as few ``send`` calls as possible, and
a client that does not read it cannot hold the thread for longer than
:data:`SEND_TIMEOUT`.
"""

from __future__ import annotations

import select
import socket
import time

__all__ = ["FLUSH_AT", "SEND_TIMEOUT", "ResponseWriter", "send_all", "send_quietly"]

# How long an answer may take to leave: a client that does not read it is dropped.
SEND_TIMEOUT = 30.0
# Buffered answer bytes written at once (most answers are written in one send).
FLUSH_AT = 256 * 1024


class ResponseWriter:
    """What gunicorn's ``Response`` writes to, in place of the socket.

    Writes are collected and sent together when the answer is complete (headers and
    body in one ``send`` for almost every answer), or every :data:`FLUSH_AT` bytes.
    A client that does not take the bytes within :data:`SEND_TIMEOUT` is dropped.
    """

    __slots__ = ("sock", "parts", "size", "started")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.parts: list[bytes] = []
        self.size = 0
        self.started = False  # some bytes went out: the answer can no longer change

    def send(self, data: bytes) -> int:
        # gunicorn sends "100 Continue" this way once it has the request; the loop
        # already sent it (if the client waited for it) before reading the body.
        return len(data)

    def sendall(self, data: bytes) -> None:
        self.parts.append(data)
        self.size += len(data)
        if self.size >= FLUSH_AT:
            self.flush()

    def discard(self) -> None:
        self.parts.clear()
        self.size = 0

    def flush(self) -> None:
        if not self.parts:
            return
        data = self.parts[0] if len(self.parts) == 1 else b"".join(self.parts)
        self.discard()
        self.started = True
        send_all(self.sock, data, SEND_TIMEOUT)


def send_all(sock: socket.socket, data: bytes, timeout: float) -> None:
    """Send every byte on a non-blocking socket, waiting at most ``timeout`` in all."""
    view = memoryview(data)
    deadline = None
    while view:
        try:
            view = view[sock.send(view) :]
            continue
        except (BlockingIOError, InterruptedError):
            pass
        now = time.monotonic()
        if deadline is None:
            deadline = now + timeout
        if now >= deadline:
            raise TimeoutError(f"the client did not read the answer within {timeout:g}s")
        poller = select.poll()
        poller.register(sock, select.POLLOUT)
        poller.poll((deadline - now) * 1000)


def send_quietly(sock: socket.socket, data: bytes) -> None:
    """Send what the socket takes at once, for short answers before a close."""
    try:
        sock.send(data)
    except OSError:
        pass
