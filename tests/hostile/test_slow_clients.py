"""Idle and trickling connections do not slow down anyone else (a real ``mockbroker serve``).

Every test holds hostile connections open against the server (tests/support/
slow_clients.py opens a new one whenever the server closes one) while ordinary
``GET /v2/catalog`` requests are timed, half on a kept-alive connection and half on
a new connection each. The attackers need no credentials.

The server runs two workers of eight OSB threads, fewer than the attackers: a
server that gives a thread to a connection before its request is complete stalls
within the first second, so a few seconds per variant show it; the mixed attack
holds 400 connections for the full 30 seconds, long enough for the header
deadline to cut the tricklers off several times and for them to come back.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.support.servers import ADMIN_ENV, RunningServer, serve
from tests.support.slow_clients import Attack, Latencies, measure, percentile

pytestmark = [pytest.mark.server, pytest.mark.hostile]

P99_LIMIT = 0.100  # seconds: what the broker promises ordinary requests under this attack
VARIANT_HOLD = 5.0
FULL_HOLD = 30.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with serve(tmp_path_factory.mktemp("slow"), env=ADMIN_ENV, workers=2) as running:
        yield running


def timed_while_attacked(url: str, seconds: float) -> Latencies:
    """Ordinary requests for ``seconds``: one kept-alive client and one fresh-connection client."""
    results: dict[bool, Latencies] = {}

    def run(fresh: bool) -> None:
        results[fresh] = measure(url, seconds, fresh=fresh)

    threads = [threading.Thread(target=run, args=(fresh,)) for fresh in (False, True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    found = Latencies()
    for latencies in results.values():
        found.add(latencies)
    return found


def assert_unaffected(latencies: Latencies) -> None:
    assert latencies.failures == [], (
        latencies.summary() + f"; first failures {latencies.failures[:3]}"
    )
    assert len(latencies.seconds) > 50, latencies.summary()
    assert percentile(latencies.seconds, 99) < P99_LIMIT, latencies.summary()


@pytest.mark.parametrize(
    "kind",
    ["idle", "keepalive_stalled", "request_line", "headers", "body_length", "body_chunked"],
)
def test_two_hundred_connections_of_one_kind_do_not_slow_ordinary_requests(
    server: RunningServer, kind: str
) -> None:
    with Attack(server.url, {kind: 200}) as attack:
        time.sleep(0.5)
        latencies = timed_while_attacked(server.url, VARIANT_HOLD)
        assert attack.holding == 200
    assert_unaffected(latencies)


def test_four_hundred_idle_and_trickling_connections_held_for_30_seconds(
    server: RunningServer,
) -> None:
    plan = {
        "idle": 70,
        "keepalive_idle": 65,
        "keepalive_stalled": 65,
        "request_line": 50,
        "headers": 50,
        "body_length": 50,
        "body_chunked": 50,
    }
    with Attack(server.url, plan) as attack:
        time.sleep(0.5)
        latencies = timed_while_attacked(server.url, FULL_HOLD)
        assert attack.holding == sum(plan.values())
    assert_unaffected(latencies)
    # The header deadline (10 s) cut the head tricklers off, with an answer saying why.
    for kind in ("request_line", "headers", "keepalive_stalled"):
        assert attack.closed_by_server[kind] >= plan[kind], (kind, attack.closed_by_server)
    assert attack.answers["HTTP/1.1 408 Request Timeout"] >= 150, attack.answers


# --- deadlines -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def impatient(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server with 1 s to send the head and 2 s for the body."""
    env = {**ADMIN_ENV, "BROKER_HEADER_TIMEOUT": "1", "BROKER_BODY_TIMEOUT": "2"}
    with serve(tmp_path_factory.mktemp("impatient"), env=env, workers=1) as running:
        yield running


def connect(server: RunningServer) -> socket.socket:
    parts = urlsplit(server.url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
    return sock


def read_until_closed(sock: socket.socket, timeout: float = 10) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and when it closed it."""
    sock.settimeout(timeout)
    started = time.monotonic()
    received = b""
    while True:
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            break
        if not data:
            break
        received += data
    return received, time.monotonic() - started


def trickle(sock: socket.socket, data: bytes, every: float, stop: threading.Event) -> None:
    for byte in data:
        if stop.wait(every):
            return
        try:
            sock.send(bytes([byte]))
        except OSError:
            return


HEAD_STARTS = {
    "request line": (b"", b"GET /v2/catalog?" + b"a" * 200),
    "headers": (b"GET /v2/catalog HTTP/1.1\r\nHost: b\r\n", b"X-Slow: trickle\r\n" * 20),
    "body under Content-Length": (
        b"PUT /v2/service_instances/x HTTP/1.1\r\nHost: b\r\nContent-Length: 500\r\n\r\n",
        b"a" * 200,
    ),
    "chunked body": (
        b"PUT /v2/service_instances/x HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"1\r\na\r\n" * 50,
    ),
}


@pytest.mark.parametrize("what", list(HEAD_STARTS))
def test_a_client_that_misses_its_deadline_gets_408_and_is_disconnected(
    impatient: RunningServer, what: str
) -> None:
    sent_at_once, trickled = HEAD_STARTS[what]
    stop = threading.Event()
    with connect(impatient) as sock:
        sock.sendall(sent_at_once)
        sender = threading.Thread(target=trickle, args=(sock, trickled, 0.2, stop))
        sender.start()
        try:
            received, after = read_until_closed(sock)
        finally:
            stop.set()
            sender.join()
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 Request Timeout"), received
    assert json.loads(body)["error"] == "RequestTimeout"
    deadline = 2.0 if "body" in what else 1.0
    assert deadline - 0.5 < after < deadline + 3, after


def test_an_idle_connection_is_closed_without_an_answer(impatient: RunningServer) -> None:
    with connect(impatient) as sock:
        received, after = read_until_closed(sock)
    assert received == b""
    assert 0.5 < after < 4, after


def test_a_keep_alive_connection_that_stalls_in_its_next_request_gets_408(
    impatient: RunningServer,
) -> None:
    with connect(impatient) as sock:
        sock.sendall(b"GET /livez HTTP/1.1\r\nHost: b\r\n\r\nGET /li")
        received, after = read_until_closed(sock)
    first, _, rest = received.partition(b"\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 200"), received
    assert b"HTTP/1.1 408 Request Timeout" in rest, received
    assert after < 4, after


# --- HTTP/1.1 as clients use it ------------------------------------------------------------

AUTH = b"Authorization: Basic YnJva2VyOmJyb2tlcg==\r\nX-Broker-API-Version: 2.17\r\n"


def read_answers(sock: socket.socket, count: int) -> list[tuple[int, bytes]]:
    """``count`` answers (status, body) read from a kept-alive connection, in order."""
    sock.settimeout(10)
    buffer = b""
    answers = []
    while len(answers) < count:
        while b"\r\n\r\n" not in buffer:
            data = sock.recv(65536)
            assert data, f"connection closed after {len(answers)} answers: {buffer!r}"
            buffer += data
        head, _, buffer = buffer.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(b":") for line in lines[1:])
        }
        length = int(headers.get(b"content-length", b"0"))
        while len(buffer) < length:
            data = sock.recv(65536)
            assert data, "connection closed in the middle of a body"
            buffer += data
        answers.append((status, buffer[:length]))
        buffer = buffer[length:]
    return answers


def test_pipelined_requests_are_answered_in_order(server: RunningServer) -> None:
    body = b'{"service_id": "nope", "plan_id": "nope"}'
    requests = (
        b"GET /livez HTTP/1.1\r\nHost: b\r\n\r\n"
        + b"GET /v2/catalog HTTP/1.1\r\nHost: b\r\n"
        + AUTH
        + b"\r\n"
        + b"PUT /v2/service_instances/pipelined HTTP/1.1\r\nHost: b\r\n"
        + AUTH
        + b"Content-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
        + b"GET /v2/service_instances/missing HTTP/1.1\r\nHost: b\r\n"
        + AUTH
        + b"\r\n"
    )
    with connect(server) as sock:
        sock.sendall(requests)
        answers = read_answers(sock, 4)
        # The same connection goes on serving, a request split over two writes too.
        sock.sendall(b"GET /liv")
        time.sleep(0.2)
        sock.sendall(b"ez HTTP/1.1\r\nHost: b\r\n\r\n")
        (last,) = read_answers(sock, 1)
    assert [status for status, _ in answers] == [200, 200, 400, 404]
    assert json.loads(answers[0][1]) == {"status": "ok"}
    assert json.loads(answers[1][1])["services"]
    assert "organization_guid" in json.loads(answers[2][1])["description"]
    assert last[0] == 200


def test_a_client_waiting_for_100_continue_gets_it_before_sending_its_body(
    server: RunningServer,
) -> None:
    body = b'{"service_id": "nope", "plan_id": "nope"}'
    with connect(server) as sock:
        sock.sendall(
            b"PUT /v2/service_instances/expecting HTTP/1.1\r\nHost: b\r\n"
            + AUTH
            + b"Content-Type: application/json\r\nExpect: 100-continue\r\n"
            + b"Content-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
        )
        sock.settimeout(5)
        interim = sock.recv(1024)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        ((status, answer),) = read_answers(sock, 1)
    assert status == 400  # the body was read: the broker says what is missing from it
    assert "organization_guid" in json.loads(answer)["description"]


# --- limits ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One worker holding at most 32 connections, with a 4 KiB body limit."""
    env = {**ADMIN_ENV, "BROKER_MAX_CONNECTIONS": "32", "BROKER_MAX_BODY_BYTES": "4096"}
    with serve(tmp_path_factory.mktemp("small"), env=env, workers=1) as running:
        yield running


def test_at_the_connection_limit_the_longest_waiting_connection_makes_room(
    small: RunningServer,
) -> None:
    idle = [connect(small) for _ in range(100)]
    try:
        latencies = measure(small.url, 2.0, fresh=True, timeout=5)
        closed = 0
        for sock in idle:
            sock.settimeout(0.05)
            try:
                closed += sock.recv(1) == b""
            except TimeoutError:
                pass
            except ConnectionResetError:
                closed += 1
    finally:
        for sock in idle:
            sock.close()
    assert latencies.failures == [], latencies.summary()
    assert closed >= 100 - 32, closed


def chunked(body: bytes, size: int = 1000) -> bytes:
    pieces = [body[n : n + size] for n in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"


def exchange(server: RunningServer, request: bytes) -> tuple[int, dict[str, str]]:
    with connect(server) as sock:
        sock.sendall(request)
        received, _ = read_until_closed(sock)
    head, _, body = received.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


BIG = json.dumps({"service_id": "s", "plan_id": "p", "parameters": {"x": "y" * 6000}}).encode()


@pytest.mark.parametrize(
    ("framing", "auth", "expected"),
    [
        ("chunked", AUTH, 413),
        ("length", AUTH, 413),
        ("chunked", b"", 401),
        ("length", b"", 401),
    ],
)
def test_a_body_over_the_limit_is_refused_unread(
    small: RunningServer, framing: str, auth: bytes, expected: int
) -> None:
    if framing == "chunked":
        head = b"Transfer-Encoding: chunked\r\n\r\n"
        body = chunked(BIG)
    else:
        head = b"Content-Length: " + str(len(BIG)).encode() + b"\r\n\r\n"
        body = BIG
    request = (
        b"PUT /v2/service_instances/big HTTP/1.1\r\nHost: b\r\nConnection: close\r\n"
        + auth
        + b"Content-Type: application/json\r\n"
        + head
        + body
    )
    status, answer = exchange(small, request)
    assert status == expected, answer
    if expected == 413:
        assert answer["error"] == "PayloadTooLarge"
        assert "4096" in answer["description"]


def test_a_head_over_64_kib_is_refused_with_431(small: RunningServer) -> None:
    padding = b"".join(b"X-Pad-%d: %s\r\n" % (n, b"a" * 8000) for n in range(9))
    status, answer = exchange(small, b"GET /livez HTTP/1.1\r\nHost: b\r\n" + padding + b"\r\n")
    assert status == 431
    assert answer["error"] == "RequestHeaderFieldsTooLarge"


@pytest.mark.parametrize(
    ("head", "expected", "error"),
    [
        (b"GET /livez HTTP/1.1\r\nHost: b\r\nX-Request-ID: a\x1b[31m\r\n\r\n", 400, "BadRequest"),
        (b"GET /livez HTTP/1.1\r\nHost: b\r\nBad Name: x\r\n\r\n", 400, "BadRequest"),
        (b"GET /livez HTTP/9.9\r\nHost: b\r\n\r\n", 400, "BadRequest"),
        (b"GET /livez HTTP/1.1\r\nHost: b\r\nContent-Length: x\r\n\r\n", 400, "BadRequest"),
    ],
    ids=["control-character", "space-in-name", "http-version", "content-length"],
)
def test_a_head_the_parser_refuses_gets_an_osb_shaped_error(
    small: RunningServer, head: bytes, expected: int, error: str
) -> None:
    status, answer = exchange(small, head)
    assert (status, answer["error"]) == (expected, error)
    assert answer["description"].startswith("malformed request")
