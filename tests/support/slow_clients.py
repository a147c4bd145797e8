"""Hostile connections for the slow-client tests: idle sockets and clients that trickle.

:class:`Attack` holds a number of raw TCP connections of each :data:`KINDS` open
against a server from one background thread, sends each trickler one more byte
every ``interval`` seconds, and opens a new connection whenever the server closes
one, so the pressure lasts as long as the attack does. :func:`measure` times
ordinary requests meanwhile, half on one kept-alive connection and half each on a
new connection.
"""

from __future__ import annotations

import http.client
import math
import selectors
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from tests.support.osb import basic

__all__ = ["KINDS", "Attack", "Latencies", "measure", "percentile"]

HOST = b"Host: broker\r\n"


def _endless(prefix: bytes, repeated: bytes) -> Iterator[bytes]:
    """``prefix`` then ``repeated`` forever, one byte at a time."""
    yield from (bytes([byte]) for byte in prefix)
    while True:
        yield from (bytes([byte]) for byte in repeated)


# kind -> (what is sent at once, then the bytes trickled one at a time, or None: nothing)
def _script(kind: str) -> tuple[bytes, Iterator[bytes] | None]:
    if kind == "idle":
        return b"", None
    if kind == "keepalive_idle":
        return b"GET /livez HTTP/1.1\r\n" + HOST + b"\r\n", None
    if kind == "keepalive_stalled":
        # One answered request, then the first byte of the next one, then nothing.
        return b"GET /livez HTTP/1.1\r\n" + HOST + b"\r\nG", None
    if kind == "request_line":
        return b"", _endless(b"GET /v2/catalog?", b"a")
    if kind == "headers":
        return b"GET /v2/catalog HTTP/1.1\r\n" + HOST, _endless(b"", b"X-Slow: trickle\r\n")
    if kind == "body_length":
        head = (
            b"PUT /v2/service_instances/slow HTTP/1.1\r\n"
            + HOST
            + b"Content-Type: application/json\r\nContent-Length: 900000\r\n\r\n"
        )
        return head, _endless(b'{"a": "', b"b")
    if kind == "body_chunked":
        head = (
            b"PUT /v2/service_instances/slow HTTP/1.1\r\n"
            + HOST
            + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        return head, _endless(b"", b"1\r\nb\r\n")
    raise ValueError(f"unknown kind {kind!r}")


KINDS = (
    "idle",
    "keepalive_idle",
    "keepalive_stalled",
    "request_line",
    "headers",
    "body_length",
    "body_chunked",
)


@dataclass
class _Hostile:
    kind: str
    sock: socket.socket
    trickle: Iterator[bytes] | None
    next_send: float
    received: bytes = b""


@dataclass
class Attack:
    """``plan`` maps a kind of :data:`KINDS` to how many such connections stay open."""

    url: str
    plan: dict[str, int]
    interval: float = 1.0
    opened: Counter[str] = field(default_factory=Counter)
    closed_by_server: Counter[str] = field(default_factory=Counter)
    # The status line of every answer the server sent to a hostile connection.
    answers: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        self._address = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._selector = selectors.DefaultSelector()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="attack", daemon=True)
        self._error: BaseException | None = None

    # --- running --------------------------------------------------------------------

    def __enter__(self) -> Attack:
        for kind, count in self.plan.items():
            for n in range(count):
                # Spread the first byte of the tricklers over one interval.
                self._open(kind, time.monotonic() + self.interval * n / max(count, 1))
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        for key in list(self._selector.get_map().values()):
            key.fileobj.close()  # type: ignore[union-attr]
        self._selector.close()
        if self._error is not None:
            raise self._error

    @property
    def holding(self) -> int:
        return len(self._selector.get_map())

    def _open(self, kind: str, first_send: float) -> None:
        sock = socket.create_connection(self._address, timeout=5)
        sock.setblocking(False)
        sent_at_once, trickle = _script(kind)
        if sent_at_once:
            sock.sendall(sent_at_once)
        hostile = _Hostile(kind, sock, trickle, first_send)
        self._selector.register(sock, selectors.EVENT_READ, hostile)
        self.opened[kind] += 1

    def _close(self, hostile: _Hostile) -> None:
        self._selector.unregister(hostile.sock)
        hostile.sock.close()
        self.closed_by_server[hostile.kind] += 1
        status = hostile.received.split(b"\r\n", 1)[0]
        if status.startswith(b"HTTP/"):
            self.answers[status.decode("latin-1")] += 1
        if not self._stop.is_set():
            self._open(hostile.kind, time.monotonic() + self.interval)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                for key, _ in self._selector.select(timeout=0.05):
                    hostile: _Hostile = key.data
                    try:
                        data = hostile.sock.recv(65536)
                    except BlockingIOError:
                        continue
                    except OSError:
                        data = b""
                    if data and hostile.kind.startswith("keepalive"):
                        hostile.received = data[:200]  # its /livez answer: expected
                        continue
                    if data:
                        hostile.received += data[:200]
                        continue
                    self._close(hostile)
                now = time.monotonic()
                for key in list(self._selector.get_map().values()):
                    hostile = key.data
                    if hostile.trickle is None or hostile.next_send > now:
                        continue
                    hostile.next_send = now + self.interval
                    try:
                        hostile.sock.send(next(hostile.trickle))
                    except BlockingIOError:
                        pass
                    except OSError:
                        self._close(hostile)
        except BaseException as exc:  # reported by __exit__
            self._error = exc


# --- ordinary requests ----------------------------------------------------------------


@dataclass
class Latencies:
    """Seconds per ordinary request; a failed or timed-out request counts as infinite."""

    seconds: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def add(self, other: Latencies) -> None:
        self.seconds.extend(other.seconds)
        self.failures.extend(other.failures)

    def summary(self) -> str:
        finite = sorted(s for s in self.seconds if math.isfinite(s))
        if not finite:
            return f"{len(self.seconds)} requests, none answered"
        return (
            f"{len(self.seconds)} requests: p50 {percentile(self.seconds, 50) * 1000:.1f} ms, "
            f"p99 {percentile(self.seconds, 99) * 1000:.1f} ms, "
            f"max {max(self.seconds) * 1000:.1f} ms, {len(self.failures)} failed"
        )


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return math.nan
    index = min(len(ordered) - 1, max(0, math.ceil(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def _timed(
    connection: http.client.HTTPConnection, path: str, headers: dict[str, str]
) -> tuple[float, str | None]:
    started = time.perf_counter()
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
    except (OSError, http.client.HTTPException) as exc:
        connection.close()
        return math.inf, f"{path}: {type(exc).__name__}: {exc}"
    elapsed = time.perf_counter() - started
    if response.status != 200:
        return elapsed, f"{path}: status {response.status}"
    return elapsed, None


def measure(
    url: str, seconds: float, *, pause: float = 0.02, timeout: float = 5.0, fresh: bool
) -> Latencies:
    """Time ``GET /v2/catalog`` (with credentials) for ``seconds``, one request at a time.

    ``fresh``: a new connection for every request (else one kept-alive connection,
    opened again if the server closes it).
    """
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    headers = {"Authorization": basic(), "X-Broker-API-Version": "2.17"}
    found = Latencies()
    kept: http.client.HTTPConnection | None = None
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if fresh or kept is None:
            connection = http.client.HTTPConnection(host, port, timeout=timeout)
        else:
            connection = kept
        elapsed, problem = _timed(connection, "/v2/catalog", headers)
        found.seconds.append(elapsed)
        if problem is not None:
            found.failures.append(problem)
        if fresh or problem is not None:
            connection.close()
            kept = None
        else:
            kept = connection
        time.sleep(pause)
    if kept is not None:
        kept.close()
    return found
