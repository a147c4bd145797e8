"""Reading requests off the connections until one is complete, then handing it on.

The loop calls :meth:`RequestReader.readable` when a connection has bytes (or was
closed by the client). While the connection waits for a request, the bytes are
framed (:mod:`broker.serving.framing`) within the head and body deadlines, with
``100 Continue`` sent to a client that waits for it; a complete request, in memory,
goes to the lane its path picks (:mod:`broker.serving.lanes`). While a request is
being answered, the reader keeps reading ahead (at most :data:`READ_AHEAD` bytes),
which is also how it notices a client that disconnects while it waits.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from functools import partial

from broker.serving.connection import BUSY, LINGERING, READING, Connection
from broker.serving.error_answers import error_answer
from broker.serving.framing import Verdict, request_path
from broker.serving.lanes import Lane, lane_for
from broker.serving.open_connections import OpenConnections
from broker.serving.options import ServingOptions

__all__ = ["READ_AHEAD", "RECV_SIZE", "RequestReader", "Serve"]

RECV_SIZE = 65536
# Bytes of a following request read while one is being answered; beyond it the loop
# stops reading that connection until the answer is out.
READ_AHEAD = 65536

# Answers one complete request in a lane's thread:
# (connection, request bytes, lane, close after the answer, body size refused unread).
Serve = Callable[[Connection, bytes, Lane, bool, int | None], None]


class RequestReader:
    """Frames what connections send and submits each complete request to its lane."""

    def __init__(
        self,
        options: ServingOptions,
        lanes: Mapping[str, Lane],
        connections: OpenConnections,
        serve: Serve,
    ) -> None:
        self.options = options
        self.lanes = lanes
        self.connections = connections
        self.serve = serve

    def readable(self, connection: Connection) -> None:
        """Take what the client sent (on the loop)."""
        try:
            data = connection.sock.recv(RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        with connection.lock:
            state = connection.state
            if state == BUSY:
                # A request is being answered: read ahead, and notice a client that left.
                if not data:
                    connection.gone = True
                    self.connections.unregister(connection)
                else:
                    connection.buffer += data
                    if len(connection.buffer) > READ_AHEAD:
                        connection.paused = True
                        self.connections.unregister(connection)
                return
            if state == LINGERING:
                if not data:
                    self.connections.close(connection)
                return
            if state != READING:
                return
            if not data:
                self.connections.close(connection)
                return
            if not connection.buffer and connection.reused:
                connection.deadline = time.monotonic() + self.options.header_timeout
            connection.buffer += data
            work = self.advance(connection)
        if work is not None:
            work()

    def advance(self, connection: Connection) -> Callable[[], None] | None:
        """Frame the buffer (the lock is held); what to do next, outside the lock."""
        options = self.options
        framing = connection.framing
        verdict = framing.advance(connection.buffer, options.limits)
        if verdict is Verdict.MORE:
            if framing.head_complete:
                if not connection.body_deadline_set:
                    connection.deadline = time.monotonic() + options.body_timeout
                    connection.body_deadline_set = True
                if framing.expects_continue and not connection.continued:
                    connection.continued = True
                    try:
                        connection.sock.send(b"HTTP/1.1 100 Continue\r\n\r\n")
                    except OSError:
                        pass
            return None
        if verdict is Verdict.HEAD_TOO_LARGE:
            limit = options.limits.max_head
            answer = error_answer(
                431,
                "Request Header Fields Too Large",
                "RequestHeaderFieldsTooLarge",
                f"the request line and headers are larger than {limit} bytes",
            )
            connection.state = BUSY
            connection.buffer.clear()
            return partial(self.connections.refuse, connection, answer)
        close_after = verdict is not Verdict.COMPLETE
        too_large = None
        buffer = connection.buffer
        if verdict is Verdict.COMPLETE:
            end = framing.end
        elif verdict is Verdict.BODY_TOO_LARGE:
            end = framing.head_end
            too_large = framing.received_body
        else:  # AS_IS: gunicorn's parser gives the answer
            end = len(buffer)
        if end == len(buffer):
            request = bytes(buffer)
            buffer.clear()
        else:
            request = bytes(buffer[:end])
            del buffer[:end]
        if close_after:
            buffer.clear()
        connection.state = BUSY
        connection.requests += 1
        connection.new_request()
        lane = self.lanes[lane_for(request_path(request))]
        return partial(
            lane.submit, partial(self.serve, connection, request, lane, close_after, too_large)
        )
