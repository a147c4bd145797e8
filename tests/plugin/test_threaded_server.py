"""The plugin's in-process server keeps connections alive (HTTP/1.1) and frames every
answer, so that the next request on a connection starts where it should; when it cannot
be sure of that it closes the connection, as a server without keep-alive would."""

from __future__ import annotations

import base64
import http.client
import json
import logging
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from flask import Flask, Response

from broker.config import Settings
from broker.testing.threaded_server import ThreadedBrokerServer

AUTH = {"Authorization": "Basic " + base64.b64encode(b"broker:broker").decode()}
OSB = {**AUTH, "X-Broker-API-Version": "2.17"}


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadedBrokerServer]:
    with ThreadedBrokerServer.for_settings(Settings(store="memory://", port=0)) as running:
        yield running


@pytest.fixture
def connection(server: ThreadedBrokerServer) -> Iterator[http.client.HTTPConnection]:
    opened = http.client.HTTPConnection(server.host, server.port, timeout=10)
    yield opened
    opened.close()


def ask(
    connection: http.client.HTTPConnection,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[http.client.HTTPResponse, bytes]:
    connection.request(method, path, body=body, headers=headers or {})
    answer = connection.getresponse()
    return answer, answer.read()


def test_requests_follow_each_other_on_one_connection(
    connection: http.client.HTTPConnection,
) -> None:
    first, _ = ask(connection, "GET", "/livez")
    sock = connection.sock
    catalog, body = ask(connection, "GET", "/v2/catalog", headers=OSB)
    again, _ = ask(connection, "GET", "/livez")
    assert (first.status, catalog.status, again.status) == (200, 200, 200)
    assert json.loads(body)["services"]
    assert connection.sock is sock is not None
    assert catalog.getheader("Connection") is None


def test_a_body_the_broker_did_not_read_is_skipped_not_taken_for_the_next_request(
    connection: http.client.HTTPConnection,
) -> None:
    unread = json.dumps({"service_id": "x", "plan_id": "y", "padding": "z" * 50_000}).encode()
    refused, _ = ask(
        connection,
        "PUT",
        "/v2/service_instances/i-1",
        body=unread,
        headers={"Authorization": "Basic bm9ib2R5Om5vcGU=", "Content-Type": "application/json"},
    )
    sock = connection.sock
    answer, _ = ask(connection, "GET", "/livez")
    assert (refused.status, answer.status) == (401, 200)
    assert connection.sock is sock


def test_a_chunked_request_is_answered_and_its_connection_closed(
    connection: http.client.HTTPConnection,
) -> None:
    connection.putrequest("POST", "/admin/reset")
    for name, value in {**AUTH, "Transfer-Encoding": "chunked"}.items():
        connection.putheader(name, value)
    connection.endheaders()
    connection.send(b"2\r\n{}\r\n0\r\n\r\n")
    answer = connection.getresponse()
    assert answer.status == 200 and json.loads(answer.read()) == {"reset": True}
    assert answer.getheader("Connection") == "close"


def test_an_answer_without_a_length_is_sent_chunked_and_the_connection_kept() -> None:
    app = Flask("streaming")

    @app.get("/stream")
    def stream() -> Response:
        def parts() -> Iterable[str]:
            yield from ("one ", "two ", "three")

        return Response(parts(), mimetype="text/plain")

    with ThreadedBrokerServer(app) as running:
        connection = http.client.HTTPConnection(running.host, running.port, timeout=10)
        try:
            answer, body = ask(connection, "GET", "/stream")
            sock = connection.sock
            again, repeated = ask(connection, "GET", "/stream")
            kept = connection.sock is sock is not None
        finally:
            connection.close()
    assert answer.getheader("Transfer-Encoding") == "chunked"
    assert body == repeated == b"one two three"
    assert again.status == 200 and kept


def test_an_application_that_fails_before_answering_gives_500_and_closes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def failing(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        raise RuntimeError("broken")

    with ThreadedBrokerServer(failing) as running:  # type: ignore[arg-type]
        connection = http.client.HTTPConnection(running.host, running.port, timeout=10)
        try:
            with caplog.at_level(logging.ERROR, logger="werkzeug"):
                answer, _ = ask(connection, "GET", "/")
        finally:
            connection.close()
    assert answer.status == 500
    assert answer.getheader("Connection") == "close"
    assert "RuntimeError: broken" in caplog.text
