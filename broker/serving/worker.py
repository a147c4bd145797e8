"""The gunicorn worker of ``mockbroker serve``: an event loop reads, threads answer.

gunicorn stays the server: its master binds the socket, starts, watches and
restarts the workers, and handles the signals. This worker replaces gthread, where
a thread was given to every connection as soon as it was accepted and stayed with
it while the client sent its request: 200 clients that connect and send nothing,
or send their headers a byte a second, held every thread of every worker.

Here one event loop per worker (``selectors``, non-blocking sockets) accepts the
connections and reads each request *completely*: request line, headers and body
(up to ``max_body_bytes``), within deadlines (``header_timeout`` for the head,
``body_timeout`` for the body, gunicorn's ``keepalive`` for an idle kept-alive
connection). Only a complete request, in memory, goes to a thread, which parses
it with gunicorn's own parser, runs the application and writes the answer. A
connection waiting for its next request costs no thread, only a few hundred bytes.

A client that misses a deadline is answered ``408 Request Timeout`` if it had
started a request, and disconnected either way. Each worker holds at most
``max_connections`` connections; at the limit, a new connection makes the worker
close the one that has waited longest without completing a request (connections
whose request is being answered are never chosen). Threads are grouped in lanes
(:mod:`broker.serving.lanes`) chosen by path, so ``/livez``, ``/readyz`` and the
admin API always find a free thread, whatever the OSB API is doing.

Requests are answered in order on a connection (HTTP/1.1 pipelining): the loop
keeps reading ahead while a request is served (at most :data:`READ_AHEAD` bytes),
which is also how it notices a client that disconnects while it waits: the
application sees that through ``environ["mockbroker.client_gone"]``.
"""

from __future__ import annotations

import errno
import io
import json
import os
import resource
import select
import selectors
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime
from email.utils import formatdate
from functools import partial
from typing import Any

from gunicorn.http import wsgi
from gunicorn.http.errors import (
    ExpectationFailed,
    LimitRequestHeaders,
    LimitRequestLine,
    NoMoreData,
    ParseException,
    UnsupportedTransferCoding,
)
from gunicorn.http.message import Request
from gunicorn.http.unreader import IterUnreader
from gunicorn.workers import base

from broker.serving.framing import Framing, Limits, Verdict, request_path
from broker.serving.lanes import CONTROL, HEALTH, OSB, Lane, lane_for

__all__ = ["EventLoopWorker", "ServingOptions"]

RECV_SIZE = 65536
# Request line and headers together (nginx allows 32 KiB; beyond this: 431).
MAX_HEAD = 65536
# Bytes of a following request read while one is being answered; beyond it the loop
# stops reading that connection until the answer is out.
READ_AHEAD = 65536
ACCEPT_BATCH = 64
# How long an answer may take to leave: a client that does not read it is dropped.
SEND_TIMEOUT = 30.0
# Buffered answer bytes written at once (most answers are written in one send).
FLUSH_AT = 256 * 1024
# How long a closed connection is drained so that unread request bytes do not turn
# the close into a reset that could destroy the answer just sent.
LINGER = 2.0
# A stopping worker keeps idle kept-alive connections this long, answering a request
# that was already on its way with "Connection: close".
STOP_LINGER = 2.0
HEARTBEAT = 1.0
CONTROL_THREADS = 4
HEALTH_THREADS = 2
# Long admin waits (journal long-polls) that may step aside in the control lane.
CONTROL_WAITING = 64

READING = "reading"
BUSY = "busy"
LINGERING = "lingering"
CLOSED = "closed"

_WAKE = object()
_LISTENER = object()


class ServingOptions:
    """The limits of one worker, from the broker's settings (or defaults)."""

    def __init__(self, cfg: Any, settings: Any) -> None:
        self.header_timeout = float(getattr(settings, "header_timeout", 10))
        self.body_timeout = float(getattr(settings, "body_timeout", 30))
        self.keepalive = float(cfg.keepalive)
        self.max_connections = int(cfg.worker_connections)
        self.threads = int(cfg.threads)
        # A delayed or hung request (or one more beyond the cap, refused at once)
        # steps aside; a few more places cover requests on their way out.
        self.max_waiting = int(getattr(settings, "max_delayed", 100)) + 8
        self.limits = Limits(
            max_head=MAX_HEAD,
            max_body=int(getattr(settings, "max_body_bytes", 1024 * 1024)),
            max_request_line=int(cfg.limit_request_line) or 8190,
        )
        shortest = min(self.header_timeout, self.body_timeout, self.keepalive or 60.0)
        self.sweep_every = max(0.05, min(1.0, shortest / 4))


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

    def client_gone(self) -> bool:
        return self.gone

    def new_request(self) -> None:
        self.framing = Framing()
        self.body_deadline_set = False
        self.continued = False


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


def _send_quietly(sock: socket.socket, data: bytes) -> None:
    try:
        sock.send(data)
    except OSError:
        pass


# gunicorn's parser refusals that are not a plain 400: (status, reason, OSB error code).
PARSE_REFUSALS: tuple[tuple[type[ParseException], int, str, str], ...] = (
    (LimitRequestLine, 414, "URI Too Long", "URITooLong"),
    (LimitRequestHeaders, 431, "Request Header Fields Too Large", "RequestHeaderFieldsTooLarge"),
    (UnsupportedTransferCoding, 501, "Not Implemented", "NotImplemented"),
    (ExpectationFailed, 417, "Expectation Failed", "ExpectationFailed"),
)


def refusal_answer(exc: ParseException) -> bytes:
    """The OSB-shaped answer to a request head gunicorn's parser refuses."""
    for kind, status, reason, error in PARSE_REFUSALS:
        if isinstance(exc, kind):
            return error_answer(status, reason, error, f"malformed request: {exc}")
    return error_answer(400, "Bad Request", "BadRequest", f"malformed request: {exc}")


def error_answer(status: int, reason: str, error: str, description: str) -> bytes:
    """A complete ``Connection: close`` answer with an OSB-shaped JSON body."""
    body = json.dumps({"error": error, "description": description}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        f"Date: {formatdate(usegmt=True)}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


class EventLoopWorker(base.Worker):  # type: ignore[misc]
    """One event loop reading complete requests; lanes of threads answering them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.options = ServingOptions(self.cfg, getattr(self.app, "settings", None))
        self.connections: dict[int, Connection] = {}
        self.lanes: dict[str, Lane] = {}
        self._deferred: deque[tuple[Callable[[Connection], None], Connection]] = deque()
        self._accepting = False
        self._accept_resume_at = 0.0
        self._servers: dict[int, Any] = {}
        self._last_beat = 0.0

    # --- process setup ----------------------------------------------------------------

    def init_process(self) -> None:
        options = self.options
        self.selector = selectors.DefaultSelector()
        self.lanes = {
            OSB: Lane("osb", options.threads, options.max_waiting),
            CONTROL: Lane("control", CONTROL_THREADS, CONTROL_WAITING),
            HEALTH: Lane("health", HEALTH_THREADS, 0),
        }
        _raise_open_files_limit(options.max_connections + 256)
        super().init_process()

    def handle_exit(self, sig: int, frame: Any) -> None:
        self.alive = False  # the loop wakes up: the signal is written to self.PIPE

    # --- the loop ---------------------------------------------------------------------

    def run(self) -> None:
        self.selector.register(self.PIPE[0], selectors.EVENT_READ, _WAKE)
        for listener in self.sockets:
            listener.setblocking(False)
            self._servers[listener.fileno()] = listener.getsockname()
        self._set_accepting(True)
        next_sweep = 0.0
        while self.alive:
            now = time.monotonic()
            if now - self._last_beat >= HEARTBEAT:
                self.notify()
                self._last_beat = now
                if self.ppid != os.getppid():
                    self.log.info("Parent changed, shutting down: %s", self)
                    break
            self._dispatch(self.selector.select(self.options.sweep_every))
            now = time.monotonic()
            if now >= next_sweep:
                self._sweep(now)
                next_sweep = now + self.options.sweep_every
        self._stop()

    def _dispatch(self, events: list[tuple[selectors.SelectorKey, int]]) -> None:
        for key, _ in events:
            data = key.data
            if data is _WAKE:
                try:
                    os.read(self.PIPE[0], 4096)
                except OSError:
                    pass
            elif data is _LISTENER:
                self._accept(key.fileobj)  # type: ignore[arg-type]
            else:
                self._readable(data)
        while self._deferred:
            action, connection = self._deferred.popleft()
            action(connection)

    def _defer(self, action: Callable[[Connection], None], connection: Connection) -> None:
        """Run ``action(connection)`` on the loop (from a thread)."""
        self._deferred.append((action, connection))
        try:
            os.write(self.PIPE[1], b".")
        except OSError:
            pass  # the pipe is full: the loop is awake anyway

    # --- accepting --------------------------------------------------------------------

    def _set_accepting(self, enabled: bool) -> None:
        if enabled == self._accepting:
            return
        for listener in self.sockets:
            if enabled:
                self.selector.register(listener, selectors.EVENT_READ, _LISTENER)
            else:
                self.selector.unregister(listener)
        self._accepting = enabled

    def _accept(self, listener: socket.socket) -> None:
        for _ in range(ACCEPT_BATCH):
            if len(self.connections) >= self.options.max_connections and not self._evict():
                self._set_accepting(False)  # every connection is being answered
                return
            try:
                sock, client = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno == errno.ECONNABORTED:
                    continue
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    self.log.warning("cannot accept connections for now: %s", exc.strerror)
                    self._set_accepting(False)
                    self._accept_resume_at = time.monotonic() + 0.5
                    return
                raise
            sock.setblocking(False)
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            now = time.monotonic()
            connection = Connection(sock, client, self._servers[listener.fileno()], now)
            connection.deadline = now + self.options.header_timeout
            self.connections[connection.fd] = connection
            self._register(connection)

    def _evict(self) -> bool:
        """Make room: close a lingering connection, or the one waiting longest for a request."""
        oldest = None
        for connection in self.connections.values():
            if connection.state == LINGERING:
                self._close(connection)
                return True
            if connection.state == READING and (oldest is None or connection.since < oldest.since):
                oldest = connection
        if oldest is None:
            return False
        self._time_out(oldest, "the worker needed the connection for a newer client", linger=False)
        return True

    # --- reading ----------------------------------------------------------------------

    def _register(self, connection: Connection) -> None:
        if not connection.registered:
            self.selector.register(connection.sock, selectors.EVENT_READ, connection)
            connection.registered = True

    def _unregister(self, connection: Connection) -> None:
        if connection.registered:
            self.selector.unregister(connection.sock)
            connection.registered = False

    def _readable(self, connection: Connection) -> None:
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
                    self._unregister(connection)
                else:
                    connection.buffer += data
                    if len(connection.buffer) > READ_AHEAD:
                        connection.paused = True
                        self._unregister(connection)
                return
            if state == LINGERING:
                if not data:
                    self._close(connection)
                return
            if state != READING:
                return
            if not data:
                self._close(connection)
                return
            if not connection.buffer and connection.reused:
                connection.deadline = time.monotonic() + self.options.header_timeout
            connection.buffer += data
            work = self._advance(connection)
        if work is not None:
            work()

    def _advance(self, connection: Connection) -> Callable[[], None] | None:
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
            return partial(self._refuse, connection, answer)
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
            lane.submit, partial(self._serve, connection, request, lane, close_after, too_large)
        )

    # --- deadlines and closing --------------------------------------------------------

    def _sweep(self, now: float) -> None:
        if not self._accepting and self.alive and now >= self._accept_resume_at:
            if len(self.connections) < self.options.max_connections:
                self._set_accepting(True)
        for connection in list(self.connections.values()):
            if now < connection.deadline:
                continue
            if connection.state == READING:
                self._time_out(connection, "the request was not received in time")
            elif connection.state == LINGERING:
                self._close(connection)

    def _time_out(self, connection: Connection, why: str, linger: bool = True) -> None:
        """End a connection that missed its deadline (on the loop): 408 if a request began."""
        with connection.lock:
            if connection.state != READING:
                return
            started = bool(connection.buffer) or connection.framing.head_complete
            connection.state = BUSY  # nothing else happens to it until it is closed
        if not started:
            self._close(connection)  # nothing started: no answer owed
            return
        answer = error_answer(408, "Request Timeout", "RequestTimeout", why)
        if linger:
            self._refuse(connection, answer)
        else:
            _send_quietly(connection.sock, answer)
            self._close(connection)

    def _refuse(self, connection: Connection, answer: bytes) -> None:
        """Send a short error answer (as far as the socket takes it), then close."""
        _send_quietly(connection.sock, answer)
        self._linger(connection)

    def _linger(self, connection: Connection) -> None:
        """Close after draining what the client still sends, for :data:`LINGER` at most."""
        if threading.current_thread() is not threading.main_thread():
            self._defer(self._linger, connection)
            return
        if connection.state == CLOSED:
            return
        try:
            connection.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._close(connection)
            return
        connection.state = LINGERING
        connection.buffer.clear()
        connection.deadline = time.monotonic() + LINGER
        self._register(connection)

    def _close(self, connection: Connection) -> None:
        if threading.current_thread() is not threading.main_thread():
            self._defer(self._close, connection)
            return
        if connection.state == CLOSED:
            return
        connection.state = CLOSED
        self._unregister(connection)
        self.connections.pop(connection.fd, None)
        try:
            connection.sock.close()
        except OSError:
            pass

    def _resume(self, connection: Connection) -> None:
        """Read again from a connection paused by its read-ahead (on the loop)."""
        if connection.state == CLOSED:
            return
        with connection.lock:
            connection.paused = False
        self._register(connection)

    # --- answering (in a lane's thread) -----------------------------------------------

    def _serve(
        self,
        connection: Connection,
        request: bytes,
        lane: Lane,
        close_after: bool,
        too_large: int | None,
    ) -> None:
        keep = False
        try:
            keep = self._exchange(connection, request, lane, close_after, too_large)
        except OSError as exc:
            if exc.errno not in (errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN, errno.EBADF):
                self.log.debug("Socket error answering a request: %s", exc)
        except Exception:
            self.log.exception("Error answering a request")
        self._finish(connection, keep and not close_after)

    def _finish(self, connection: Connection, keep: bool) -> None:
        """After an answer: wait for the next request, or end the connection."""
        work = None
        with connection.lock:
            keep = keep and not connection.gone
            if keep:
                now = time.monotonic()
                connection.state = READING
                connection.reused = True
                connection.since = now
                connection.deadline = now + self.options.keepalive
                if connection.buffer:  # the next request has (partly) arrived
                    connection.deadline = now + self.options.header_timeout
                    work = self._advance(connection)
                if connection.paused:
                    self._defer(self._resume, connection)
        if not keep:
            self._defer(self._end, connection)
        elif work is not None:
            work()

    def _end(self, connection: Connection) -> None:
        """Close after an answer (on the loop): at once if the client left, else gently."""
        if connection.gone:
            self._close(connection)
        else:
            self._linger(connection)

    def _exchange(
        self,
        connection: Connection,
        request: bytes,
        lane: Lane,
        close_after: bool,
        too_large: int | None,
    ) -> bool:
        """Answer one complete request; whether the connection may serve another."""
        writer = ResponseWriter(connection.sock)
        req = None
        try:
            req = Request(
                self.cfg, IterUnreader((request,)), connection.client, connection.requests
            )
        except NoMoreData:
            # Framing gunicorn cannot read to the end (a bare LF in the request line).
            writer.sendall(error_answer(400, "Bad Request", "BadRequest", "malformed request head"))
            writer.flush()
            return False
        except ParseException as exc:  # gunicorn's parser refuses the request head
            self.log.warning("Invalid request from ip=%s: %s", connection.client[0], exc)
            writer.sendall(refusal_answer(exc))
            writer.flush()
            return False
        environ: dict[str, Any] = {}
        resp = None
        try:
            self.cfg.pre_request(self, req)
            started = datetime.now()
            resp, environ = wsgi.create(req, writer, connection.client, connection.server, self.cfg)
            environ["gunicorn.socket"] = connection.sock
            environ["wsgi.multithread"] = True
            environ["mockbroker.waiting"] = lane.waiting
            environ["mockbroker.client_gone"] = connection.client_gone
            if too_large is not None:
                # Refused unread: the application answers 413 as for any body over
                # its limit (after checking credentials, and recorded like any answer).
                environ.pop("HTTP_TRANSFER_ENCODING", None)
                environ["CONTENT_LENGTH"] = str(too_large)
                environ["wsgi.input"] = io.BytesIO()
            self.nr += 1
            if self.nr >= self.max_requests and self.alive:
                self.log.info("Autorestarting worker after current request.")
                self.alive = False
                self._defer(lambda _: None, connection)
            if close_after or not self.alive or not self.cfg.keepalive:
                resp.force_close()
            respiter = self.wsgi(environ, resp.start_response)
            try:
                for item in respiter:
                    resp.write(item)
                resp.close()
            finally:
                self.log.access(resp, req, environ, datetime.now() - started)
                if hasattr(respiter, "close"):
                    respiter.close()
            writer.flush()
            return not resp.should_close()
        except OSError:
            raise
        except Exception as exc:
            if writer.started:
                self.log.exception("Error handling request (the answer had started)")
                return False
            writer.discard()
            self.handle_error(req, writer, connection.client, exc)
            writer.flush()
            return False
        finally:
            try:
                self.cfg.post_request(self, req, environ, resp)
            except Exception:
                self.log.exception("Exception in post_request hook")

    # --- stopping ---------------------------------------------------------------------

    def _stop(self) -> None:
        self._set_accepting(False)
        now = time.monotonic()
        # Requests waiting in a fault rule's delay or hang end now (the client gets
        # no answer); others finish within the graceful timeout.
        for connection in list(self.connections.values()):
            if connection.state == BUSY:
                connection.gone = True
            elif connection.state == READING:
                connection.deadline = min(connection.deadline, now + STOP_LINGER)
        graceful_until = now + self.cfg.graceful_timeout
        while self.connections and time.monotonic() < graceful_until:
            self.notify()
            self._dispatch(self.selector.select(0.1))
            self._sweep(time.monotonic())
        for connection in list(self.connections.values()):
            self._close(connection)
        for lane in self.lanes.values():
            lane.stop()
        self.selector.close()
        for listener in self.sockets:
            listener.close()


def _raise_open_files_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
