"""The open connections of one worker: registration with the loop, deadlines, closing.

Everything here runs on the event loop (the main thread), except :meth:`defer`:
a lane's thread that wants a connection closed or read again asks for it with
:meth:`OpenConnections.defer`, and the loop does it after its next wake-up.

A client that misses a deadline is answered ``408 Request Timeout`` if it had
started a request, and disconnected either way. A connection is closed gently: its
write side is shut and what the client still sends is drained for :data:`LINGER`
at most, so that unread request bytes do not turn the close into a reset that could
destroy the answer just sent.
"""

from __future__ import annotations

import selectors
import socket
import threading
import time
from collections import deque
from collections.abc import Callable

from broker.serving.connection import BUSY, CLOSED, LINGERING, READING, Connection
from broker.serving.error_answers import error_answer
from broker.serving.options import ServingOptions
from broker.serving.response_writer import send_quietly

__all__ = ["LINGER", "OpenConnections"]

# How long a closed connection is drained so that unread request bytes do not turn
# the close into a reset that could destroy the answer just sent.
LINGER = 2.0

Action = Callable[[Connection], None]


class OpenConnections:
    """The connections of one worker and the selector they are registered with."""

    def __init__(
        self,
        selector: selectors.BaseSelector,
        options: ServingOptions,
        wake: Callable[[], None],
    ) -> None:
        self.selector = selector
        self.options = options
        self._wake = wake  # wakes the loop up from another thread
        self._by_fd: dict[int, Connection] = {}
        self._deferred: deque[tuple[Action, Connection]] = deque()

    def __len__(self) -> int:
        return len(self._by_fd)

    def snapshot(self) -> list[Connection]:
        """The open connections now (the loop may close some while going through them)."""
        return list(self._by_fd.values())

    def add(self, connection: Connection) -> None:
        self._by_fd[connection.fd] = connection
        self.register(connection)

    def register(self, connection: Connection) -> None:
        if not connection.registered:
            self.selector.register(connection.sock, selectors.EVENT_READ, connection)
            connection.registered = True

    def unregister(self, connection: Connection) -> None:
        if connection.registered:
            self.selector.unregister(connection.sock)
            connection.registered = False

    # --- work handed to the loop ------------------------------------------------------

    def defer(self, action: Action, connection: Connection) -> None:
        """Run ``action(connection)`` on the loop (from a thread)."""
        self._deferred.append((action, connection))
        self._wake()

    def run_deferred(self) -> None:
        while self._deferred:
            action, connection = self._deferred.popleft()
            action(connection)

    # --- deadlines and room -----------------------------------------------------------

    def sweep(self, now: float) -> None:
        """End the connections whose deadline has passed."""
        for connection in self.snapshot():
            if now < connection.deadline:
                continue
            if connection.state == READING:
                self.time_out(connection, "the request was not received in time")
            elif connection.state == LINGERING:
                self.close(connection)

    def evict(self) -> bool:
        """Make room: close a lingering connection, or the one waiting longest for a request."""
        oldest = None
        for connection in self._by_fd.values():
            if connection.state == LINGERING:
                self.close(connection)
                return True
            if connection.state == READING and (oldest is None or connection.since < oldest.since):
                oldest = connection
        if oldest is None:
            return False
        self.time_out(oldest, "the worker needed the connection for a newer client", linger=False)
        return True

    def wind_down(self, idle_until: float) -> None:
        """A stopping worker: waits in fault rules end now, idle connections soon."""
        for connection in self.snapshot():
            if connection.state == BUSY:
                connection.gone = True
            elif connection.state == READING:
                connection.deadline = min(connection.deadline, idle_until)

    # --- ending a connection ----------------------------------------------------------

    def time_out(self, connection: Connection, why: str, linger: bool = True) -> None:
        """End a connection that missed its deadline (on the loop): 408 if a request began."""
        with connection.lock:
            if connection.state != READING:
                return
            started = bool(connection.buffer) or connection.framing.head_complete
            connection.state = BUSY  # nothing else happens to it until it is closed
        if not started:
            self.close(connection)  # nothing started: no answer owed
            return
        answer = error_answer(408, "Request Timeout", "RequestTimeout", why)
        if linger:
            self.refuse(connection, answer)
        else:
            send_quietly(connection.sock, answer)
            self.close(connection)

    def refuse(self, connection: Connection, answer: bytes) -> None:
        """Send a short error answer (as far as the socket takes it), then close."""
        send_quietly(connection.sock, answer)
        self.linger(connection)

    def end(self, connection: Connection) -> None:
        """Close after an answer (on the loop): at once if the client left, else gently."""
        if connection.gone:
            self.close(connection)
        else:
            self.linger(connection)

    def linger(self, connection: Connection) -> None:
        """Close after draining what the client still sends, for :data:`LINGER` at most."""
        if threading.current_thread() is not threading.main_thread():
            self.defer(self.linger, connection)
            return
        if connection.state == CLOSED:
            return
        try:
            connection.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self.close(connection)
            return
        connection.state = LINGERING
        connection.buffer.clear()
        connection.deadline = time.monotonic() + LINGER
        self.register(connection)

    def close(self, connection: Connection) -> None:
        if threading.current_thread() is not threading.main_thread():
            self.defer(self.close, connection)
            return
        if connection.state == CLOSED:
            return
        connection.state = CLOSED
        self.unregister(connection)
        self._by_fd.pop(connection.fd, None)
        try:
            connection.sock.close()
        except OSError:
            pass

    def close_all(self) -> None:
        for connection in self.snapshot():
            self.close(connection)

    def resume(self, connection: Connection) -> None:
        """Read again from a connection paused by its read-ahead (on the loop)."""
        if connection.state == CLOSED:
            return
        with connection.lock:
            connection.paused = False
        self.register(connection)
