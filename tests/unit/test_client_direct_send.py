"""A connection hands its requests to the transport itself, without ``httpx.Client``'s
machinery: what leaves must be byte for byte what ``httpx.Client`` would send, and
what comes back must be read as ``httpx.Client`` reads it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from broker.client import BrokerTimeout, BrokerUnreachable, OSBClient
from broker.client.connection import Connection, expected_body

BASE = "http://broker.test:8080/base"

CALLS: list[dict[str, Any]] = [
    {"method": "GET", "path": "/v2/catalog"},
    {"method": "GET", "path": "/v2/catalog", "headers": {"user-agent": "mine", "X-A": "1"}},
    {"method": "PUT", "path": "/v2/service_instances/i-1", "body": {"service_id": "s"}},
    {"method": "PUT", "path": "/v2/service_instances/i 1/é"},
    {"method": "POST", "path": "/admin/reset"},
    {"method": "PATCH", "path": "/x", "headers": {"Content-Length": "0"}},
    {"method": "POST", "path": "/x", "body": [], "headers": {"Host": "elsewhere:1"}},
    {
        "method": "DELETE",
        "path": "/v2/service_instances/i-1",
        "params": {"service_id": "a b/ü+&=", "plan_id": "p", "accepts_incomplete": True},
        "timeout": 2.5,
    },
    {"method": "GET", "path": "/admin/requests", "params": {"limit": 3, "since": None}},
]


def _sent(follow_redirects: bool, extra: dict[str, str]) -> list[httpx.Request]:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    connection = Connection(
        BASE, transport=httpx.MockTransport(answer), follow_redirects=follow_redirects
    )
    connection.headers = extra
    for call in CALLS + CALLS:  # the second time, with the heads made the first time
        connection.send(**call)
    return seen


@pytest.mark.parametrize("extra", [{}, {"X-Correlation-ID": "c", "accept": "text/plain"}])
def test_a_request_leaves_as_httpx_client_would_send_it(extra: dict[str, str]) -> None:
    # A connection that follows redirects sends through httpx.Client itself.
    direct, through_httpx = _sent(False, extra), _sent(True, extra)
    assert len(direct) == len(through_httpx) == 2 * len(CALLS)
    for mine, theirs in zip(direct, through_httpx, strict=True):
        assert mine.method == theirs.method
        assert mine.url == theirs.url
        assert mine.url.raw_path == theirs.url.raw_path
        assert mine.headers.raw == theirs.headers.raw
        assert mine.content == theirs.content
        assert mine.extensions == theirs.extensions


def test_a_request_a_transport_changed_leaves_the_next_one_as_it_was() -> None:
    heads: list[list[tuple[bytes, bytes]]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        heads.append(list(request.headers.raw))
        request.headers["X-Added"] = "by the transport"
        del request.headers["User-Agent"]
        return httpx.Response(200, json={"ok": True})

    connection = Connection(BASE, transport=httpx.MockTransport(answer))
    connection.send("GET", "/v2/catalog")
    connection.send("GET", "/v2/catalog")
    assert heads[1] == heads[0]
    assert b"User-Agent" in dict(heads[1])


def test_cookies_the_broker_sets_go_back_with_the_next_requests() -> None:
    cookies: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        cookies.append(request.headers.get("Cookie"))
        return httpx.Response(200, headers={"Set-Cookie": "session=abc; Path=/"}, json={})

    connection = Connection(BASE, transport=httpx.MockTransport(answer))
    connection.send("GET", "/v2/catalog")
    connection.send("GET", "/v2/catalog")
    assert cookies == [None, "session=abc"]


def test_a_redirect_is_an_answer_that_names_where_it_points() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": "/elsewhere"})

    response = Connection(BASE, transport=httpx.MockTransport(answer)).send("GET", "/v2/catalog")
    assert response.status_code == 302
    assert response.next_request is not None
    assert response.next_request.url == "http://broker.test:8080/elsewhere"


@pytest.mark.parametrize(
    ("content", "parsed"),
    [
        (b'{"a": [1, 2.5, "\xc3\xa9"]}', {"a": [1, 2.5, "é"]}),
        (b"[NaN]", None),  # json reads NaN, orjson does not
        (b'{"n": 123456789012345678901234567890}', {"n": 123456789012345678901234567890}),
    ],
)
def test_a_body_parses_as_json_reads_it(content: bytes, parsed: Any) -> None:
    response = httpx.Response(200, content=content)
    found = expected_body("GET", "/x", response, (200,), "")
    if parsed is None:
        assert isinstance(found, list) and found[0] != found[0]
    else:
        assert found == parsed


def test_a_body_that_is_not_json_is_kept_as_text() -> None:
    response = httpx.Response(200, content=b"<html>")
    assert repr(expected_body("GET", "/x", response, (200,), "")) == "<not JSON: '<html>'>"


def test_transport_failures_are_the_clients_exceptions() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with OSBClient(BASE, transport=httpx.MockTransport(slow)) as client:
        with pytest.raises(BrokerTimeout):
            client.catalog()
    with OSBClient(BASE, transport=httpx.MockTransport(refused)) as client:
        with pytest.raises(BrokerUnreachable) as failure:
            client.catalog()
    cause = failure.value.__cause__
    assert isinstance(cause, httpx.ConnectError)
    assert cause.request.url == BASE + "/v2/catalog"


def test_a_closed_connection_refuses_as_httpx_does() -> None:
    connection = Connection(BASE, transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    connection.close()
    with pytest.raises(RuntimeError, match="closed"):
        connection.send("GET", "/v2/catalog")
