"""The environ the in-process transport hands the application, as a WSGI server builds it."""

from __future__ import annotations

import io
import sys
from typing import Any

import httpx

from broker.testing.in_process import InProcessTransport


def _requests_seen(*sends: dict[str, Any]) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        environ["body"] = environ["wsgi.input"].read()
        seen.append(environ)
        start_response("200 OK", [("Content-Length", "0")])
        return [b""]

    transport = InProcessTransport(app, "127.0.0.1", 8080)
    with httpx.Client(transport=transport, base_url="http://127.0.0.1:8080") as client:
        for send in sends:
            client.request(**send)
    return seen


POST = {
    "method": "POST",
    "url": "/v2/a%20b?x=1&y=%2F",
    "content": b'{"a":1}',
    "headers": [
        ("X-Twice", "1"),
        ("X-Twice", "2"),
        ("X_Under", "dropped"),
        ("Content-Type", "application/json"),
        ("X-Broker-API-Version", "2.17"),
    ],
}


def test_the_environ_holds_the_request_as_a_server_would_give_it() -> None:
    (environ,) = _requests_seen(POST)
    assert environ["REQUEST_METHOD"] == "POST"
    assert environ["PATH_INFO"] == "/v2/a b"
    assert environ["QUERY_STRING"] == "x=1&y=%2F"
    assert environ["REQUEST_URI"] == environ["RAW_URI"] == "/v2/a%20b?x=1&y=%2F"
    assert environ["SERVER_NAME"] == "127.0.0.1"
    assert environ["SERVER_PORT"] == "8080"
    assert environ["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert environ["body"] == b'{"a":1}'
    assert environ["CONTENT_TYPE"] == "application/json"
    assert environ["CONTENT_LENGTH"] == "7"
    assert "HTTP_CONTENT_TYPE" not in environ and "HTTP_CONTENT_LENGTH" not in environ
    assert environ["HTTP_X_TWICE"] == "1,2"  # repeated headers joined, as werkzeug does
    assert environ["HTTP_X_BROKER_API_VERSION"] == "2.17"
    # A name with "_" would be indistinguishable from one with "-": dropped.
    assert not [key for key in environ if "UNDER" in key]


def test_each_request_gets_its_own_environ() -> None:
    get = {"method": "GET", "url": "/v2/catalog", "headers": {"X-Other": "yes"}}
    first, second, third = _requests_seen(POST, get, POST)
    assert second["REQUEST_METHOD"] == "GET" and second["QUERY_STRING"] == ""
    assert second["body"] == b""
    assert "HTTP_X_TWICE" not in second and "CONTENT_TYPE" not in second
    assert second["HTTP_X_OTHER"] == "yes" and "HTTP_X_OTHER" not in third
    assert third["HTTP_X_TWICE"] == "1,2"  # not "1,2,1,2": nothing kept from before
    assert first is not third
    comparable = {key for key in first if key not in ("wsgi.input", "mockbroker.client_gone")}
    assert {key: first[key] for key in comparable} == {key: third[key] for key in comparable}


def test_errors_go_to_the_stderr_of_the_moment(monkeypatch: Any) -> None:
    later = io.StringIO()
    seen: list[dict[str, Any]] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ)
        start_response("200 OK", [("Content-Length", "0")])
        return [b""]

    transport = InProcessTransport(app, "127.0.0.1", 8080)
    with httpx.Client(transport=transport, base_url="http://127.0.0.1:8080") as client:
        client.get("/")
        monkeypatch.setattr(sys, "stderr", later)  # as pytest's capture does per test
        client.get("/")
    assert seen[1]["wsgi.errors"] is later
