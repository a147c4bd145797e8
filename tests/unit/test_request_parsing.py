"""The worker's parsing of complete requests: gunicorn's parser, with its settings read once."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from gunicorn.config import Config
from gunicorn.http.errors import InvalidHeaderName, LimitRequestLine
from gunicorn.http.message import Request
from gunicorn.http.unreader import IterUnreader

from broker.serving.connection import Connection
from broker.serving.request_parsing import ConfigSnapshot, parse_request

HEAD = (
    b"PUT /v2/service_instances/i-1?accepts_incomplete=true HTTP/1.1\r\n"
    b"Host: broker.example:8080\r\n"
    b"X-Forwarded-Proto: https\r\n"
    b"Content-Type: application/json\r\n"
    b"Content-Length: 2\r\n\r\n{}"
)


def _config(**settings: Any) -> Config:
    cfg = Config()
    for name, value in settings.items():
        cfg.set(name, value)
    return cfg


def _connection(peer: tuple[str, int]) -> Connection:
    sock = socket.socket()
    connection = Connection(sock, peer, ("127.0.0.1", 8080), 0.0)
    connection.requests = 1
    return connection


def test_the_snapshot_holds_what_the_configuration_says() -> None:
    cfg = _config(forwarded_allow_ips="10.0.0.0/8", limit_request_line=4096, sendfile=False)
    snapshot = ConfigSnapshot(cfg)
    for name in cfg.settings:
        assert getattr(snapshot, name) == getattr(cfg, name), name
    # Not a setting: taken from the configuration (and kept).
    assert snapshot.is_ssl == cfg.is_ssl
    assert snapshot.forwarded_allow_networks() == cfg.forwarded_allow_networks()
    with pytest.raises(AttributeError):
        _ = snapshot.no_such_setting


@pytest.mark.parametrize(
    ("allowed", "peer", "scheme"),
    [
        ("127.0.0.1", ("127.0.0.1", 50000), "https"),
        ("127.0.0.1", ("192.0.2.7", 50000), "http"),
        ("10.0.0.0/8", ("10.1.2.3", 50000), "https"),
        ("*", ("192.0.2.7", 50000), "https"),
    ],
)
def test_parsed_as_gunicorn_parses_it(allowed: str, peer: tuple[str, int], scheme: str) -> None:
    cfg = _config(forwarded_allow_ips=allowed)
    connection = _connection(peer)
    try:
        for _ in range(2):  # the second request reuses the peer's trust
            parsed = parse_request(ConfigSnapshot(cfg), connection, HEAD)
            reference = Request(cfg, IterUnreader((HEAD,)), peer, 1)
            assert parsed.scheme == reference.scheme == scheme
            assert parsed.headers == reference.headers
            assert (parsed.method, parsed.path, parsed.query) == (
                reference.method,
                reference.path,
                reference.query,
            )
            assert parsed.body.read() == reference.body.read() == b"{}"
        assert connection.trusted_peer is (scheme == "https")
    finally:
        connection.sock.close()


@pytest.mark.parametrize(
    ("request_bytes", "refusal"),
    [
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", LimitRequestLine),
        (b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", InvalidHeaderName),
    ],
)
def test_refused_as_gunicorn_refuses_it(request_bytes: bytes, refusal: type[Exception]) -> None:
    cfg = _config(limit_request_line=8190)
    connection = _connection(("127.0.0.1", 50000))
    try:
        with pytest.raises(refusal) as ours:
            parse_request(ConfigSnapshot(cfg), connection, request_bytes)
        with pytest.raises(refusal) as theirs:
            Request(cfg, IterUnreader((request_bytes,)), connection.client, 1)
        assert str(ours.value) == str(theirs.value)
    finally:
        connection.sock.close()
