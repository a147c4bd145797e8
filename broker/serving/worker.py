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
keeps reading ahead while a request is served (at most
:data:`~broker.serving.request_reader.READ_AHEAD` bytes),
which is also how it notices a client that disconnects while it waits: the
application sees that through ``environ["mockbroker.client_gone"]``.
"""

from __future__ import annotations

import errno
import os
import resource
import selectors
import socket
import time
from typing import Any

from gunicorn.workers import base

from broker.serving.answering import answer_request
from broker.serving.connection import READING, Connection
from broker.serving.lanes import CONTROL, HEALTH, OSB, Lane
from broker.serving.open_connections import OpenConnections
from broker.serving.options import ServingOptions
from broker.serving.request_parsing import ConfigSnapshot
from broker.serving.request_reader import RequestReader

__all__ = ["EventLoopWorker", "ServingOptions"]

ACCEPT_BATCH = 64
# A stopping worker keeps idle kept-alive connections this long, answering a request
# that was already on its way with "Connection: close".
STOP_LINGER = 2.0
HEARTBEAT = 1.0
CONTROL_THREADS = 4
HEALTH_THREADS = 2
# Long admin waits (journal long-polls) that may step aside in the control lane.
CONTROL_WAITING = 64

_WAKE = object()
_LISTENER = object()


class EventLoopWorker(base.Worker):  # type: ignore[misc]
    """One event loop reading complete requests; lanes of threads answering them.

    The parts: :class:`~broker.serving.open_connections.OpenConnections` (deadlines
    and closing), :class:`~broker.serving.request_reader.RequestReader` (framing and
    handing complete requests to a lane) and
    :func:`~broker.serving.answering.answer_request` (in a lane's thread). The worker
    itself accepts connections, runs the loop, beats gunicorn's heartbeat and stops.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.options = ServingOptions(self.cfg, getattr(self.app, "settings", None))
        self.lanes: dict[str, Lane] = {}
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
        self.connections = OpenConnections(self.selector, options, self._wake_loop)
        self.reader = RequestReader(options, self.lanes, self.connections, self._serve)
        # Read for every request; a worker's configuration never changes.
        self.request_cfg = ConfigSnapshot(self.cfg)
        _raise_open_files_limit(options.max_connections + 256)
        super().init_process()  # creates self.PIPE, loads the application, then run()

    def handle_exit(self, sig: int, frame: Any) -> None:
        self.alive = False  # the loop wakes up: the signal is written to self.PIPE

    def _wake_loop(self) -> None:
        try:
            os.write(self.PIPE[1], b".")
        except OSError:
            pass  # the pipe is full: the loop is awake anyway

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
                self.reader.readable(data)
        self.connections.run_deferred()

    def _sweep(self, now: float) -> None:
        if not self._accepting and self.alive and now >= self._accept_resume_at:
            if len(self.connections) < self.options.max_connections:
                self._set_accepting(True)
        self.connections.sweep(now)

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
        connections = self.connections
        for _ in range(ACCEPT_BATCH):
            if len(connections) >= self.options.max_connections and not connections.evict():
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
            connections.add(connection)

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
            keep = answer_request(self, connection, request, lane, close_after, too_large)
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
                    work = self.reader.advance(connection)
                if connection.paused:
                    self.connections.defer(self.connections.resume, connection)
        if not keep:
            self.connections.defer(self.connections.end, connection)
        elif work is not None:
            work()

    # --- stopping ---------------------------------------------------------------------

    def _stop(self) -> None:
        self._set_accepting(False)
        now = time.monotonic()
        # Requests waiting in a fault rule's delay or hang end now (the client gets
        # no answer); others finish within the graceful timeout.
        self.connections.wind_down(now + STOP_LINGER)
        graceful_until = now + self.cfg.graceful_timeout
        while self.connections and time.monotonic() < graceful_until:
            self.notify()
            self._dispatch(self.selector.select(0.1))
            self._sweep(time.monotonic())
        self.connections.close_all()
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
