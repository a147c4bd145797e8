"""One HTTP connection pool to a broker, shared by the OSB and the admin client.

:class:`Connection` sends a request and turns a missing answer into
:class:`~broker.client.errors.BrokerUnreachable` / :class:`~broker.client.errors.BrokerTimeout`;
the functions below read an answer: its status checked against what the call
accepts, its body as JSON.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
import ssl
import time
from collections.abc import Mapping
from typing import Any, Protocol

import httpx

from broker import __version__
from broker.client.errors import (
    BrokerTimeout,
    BrokerUnreachable,
    MalformedResponse,
    UnexpectedStatus,
    broker_error,
)
from broker.client.json_decoding import decode_json
from broker.client.responses import parse_retry_after

__all__ = [
    "Connection",
    "ExchangeObserver",
    "auth_header",
    "expected_body",
    "header_value",
    "json_body",
]

# A request's head and body are separate writes: without this the body can wait for
# the server's delayed acknowledgement of the head (40 ms) on a kept-alive connection.
NO_DELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]

# Request URLs kept per (path, query): a client calls few distinct ones (the catalog,
# the admin API), and parsing one costs more than the rest of building the request.
URL_CACHE_SIZE = 256

# Request heads kept per (method, host, body length, the call's headers): a client
# sends few distinct ones, and ``httpx.Headers`` of a list costs more than a copy.
HEAD_CACHE_SIZE = 256

_httpx_log = logging.getLogger("httpx")


class ExchangeObserver(Protocol):
    """Sees every request of a connection before it goes and every answer it gets."""

    def sending(self, method: str, path: str, body: Any) -> None: ...

    def answered(self, method: str, path: str, body: Any, response: httpx.Response) -> None: ...


def auth_header(username: str | None, password: str | None, token: str | None) -> dict[str, str]:
    """The ``Authorization`` header of HTTP Basic or Bearer credentials (``{}``: none)."""
    if token is not None:
        return {"Authorization": f"Bearer {token}"}
    if username is None and password is None:
        return {}
    raw = f"{username or ''}:{password or ''}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


class Connection:
    """A keep-alive ``httpx.Client`` for one broker root URL.

    ``headers`` go with every request (after the call's own); ``observer`` sees every
    exchange. Both can change between requests, so one connection can serve many
    tests, each with its own headers, without a new ``httpx.Client`` (whose SSL
    context alone costs tens of milliseconds). Thread-safe as httpx is.

    A request goes straight to the ``httpx`` transport, as ``httpx.Client.send`` would
    hand it over (the same URL, headers, body, timeouts and errors), without what
    such a request never needs: no auth flow, no event hooks, no redirect to follow,
    no cookie jar to merge or fill unless the broker sets a cookie. A client that
    follows redirects, or holds cookies, sends through ``httpx.Client`` itself.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        verify: bool | str | ssl.SSLContext = True,
        follow_redirects: bool = False,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.headers: dict[str, str] = {}
        self.observer: ExchangeObserver | None = None
        if transport is None and not follow_redirects and self.base_url.startswith("http://"):
            # Every request goes to this plain-HTTP root (paths are relative and redirects
            # are not followed), so no certificate is ever checked: loading the CA bundle
            # for one would cost 20-200 ms per client.
            transport = httpx.HTTPTransport(verify=False, socket_options=NO_DELAY)
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            transport=transport,
            verify=verify,
            follow_redirects=follow_redirects,
            headers={"User-Agent": f"mockbroker-client/{__version__}"},
        )
        self._direct = not follow_redirects
        self._defaults = {
            name.decode("latin-1").lower(): (name, value) for name, value in self._http.headers.raw
        }
        # Per (path, query): the URL and its ``Host`` header.
        self._urls: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[httpx.URL, bytes]] = {}
        self._heads: dict[tuple[str, bytes, int, tuple[tuple[str, str], ...]], httpx.Headers] = {}

    @property
    def closed(self) -> bool:
        return self._http.is_closed

    def close(self) -> None:
        self._http.close()

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        """Send one request; raise :class:`BrokerUnreachable` if no answer came."""
        sent: dict[str, str] = {**(headers or {}), **self.headers}
        content = None
        if body is not None:
            content = json.dumps(body, separators=(",", ":")).encode()
            sent["Content-Type"] = "application/json"
        query = {
            key: _query_value(value) for key, value in (params or {}).items() if value is not None
        }
        observer = self.observer
        if observer is not None:
            observer.sending(method, path, body)
        seconds = timeout if timeout is not None else self.timeout
        try:
            if self._direct and not self._http.cookies and not self._http.is_closed:
                response = self._send_direct(method, path, query, content, sent, seconds)
            else:
                response = self._http.request(
                    method,
                    path,
                    params=query or None,
                    content=content,
                    headers=sent,
                    timeout=seconds,
                )
        except httpx.TimeoutException as exc:
            raise BrokerTimeout(f"{method} {path}: no answer within the timeout ({exc})") from exc
        except httpx.TransportError as exc:
            raise BrokerUnreachable(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        if observer is not None:
            observer.answered(method, path, body, response)
        return response

    def _url(self, path: str, query: dict[str, str]) -> tuple[httpx.URL, bytes]:
        """The request URL, as ``httpx.Client`` merges it with the base URL and the
        query, and its ``Host`` header."""
        key = (path, tuple(query.items()))
        found = self._urls.get(key)
        if found is None:
            url = self._http._merge_url(path)
            if query:
                url = url.copy_merge_params(query)
            if len(self._urls) >= URL_CACHE_SIZE:
                self._urls.clear()
            found = self._urls[key] = (url, url.netloc)
        return found

    def _head(
        self, method: str, host: bytes, content: bytes | None, headers: dict[str, str]
    ) -> list[tuple[bytes, bytes]]:
        """The request's headers in the order ``httpx.Client`` sends them: ``Host`` (and
        ``Content-Length: 0`` of a bodiless POST, PUT or PATCH), the client's headers
        the call does not replace, the call's own, then the body's ``Content-Length``."""
        given = {name.lower() for name in headers}
        head: list[tuple[bytes, bytes]] = []
        if "host" not in given:
            head.append((b"Host", host))
        sized = "content-length" in given or "transfer-encoding" in given
        if not content and not sized and method in ("POST", "PUT", "PATCH"):
            head.append((b"Content-Length", b"0"))
        head += [pair for name, pair in self._defaults.items() if name not in given]
        # ASCII, as httpx encodes header names and values given as text.
        head += [(name.encode("ascii"), value.encode("ascii")) for name, value in headers.items()]
        if content and not sized:
            head.append((b"Content-Length", str(len(content)).encode()))
        return head

    def _send_direct(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        content: bytes | None,
        headers: dict[str, str],
        timeout: float,
    ) -> httpx.Response:
        """What ``httpx.Client.request`` does for this connection's requests, and no more."""
        url, host = self._url(path, query)
        key = (method, host, len(content or b""), tuple(headers.items()))
        head = self._heads.get(key)
        if head is None:
            if len(self._heads) >= HEAD_CACHE_SIZE:
                self._heads.clear()
            head = self._heads[key] = httpx.Headers(self._head(method, host, content, headers))
        request = httpx.Request(
            method,
            url,
            headers=head,  # copied by the request
            stream=httpx.ByteStream(content or b""),
            extensions={
                "timeout": {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}
            },
        )
        request._content = content or b""  # what ``request.read()`` of its stream gives
        transport = self._http._transport_for_url(request.url)
        start = time.perf_counter()
        try:
            response = transport.handle_request(request)
        except httpx.RequestError as exc:
            exc.request = request  # as httpx.Client tells which request failed
            raise
        response.request = request
        response.default_encoding = self._http._default_encoding
        try:
            if not hasattr(response, "_content"):
                # A streamed answer (over a socket): read it whole, time it, free the
                # connection, as ``httpx.Client`` does.
                assert isinstance(response.stream, httpx.SyncByteStream)
                response.stream = httpx._client.BoundSyncStream(
                    response.stream, response=response, start=start
                )
                response.read()
        except BaseException:
            response.close()
            raise
        if header_value(response.headers, "set-cookie") is not None:
            self._http.cookies.extract_cookies(response)
        if 300 <= response.status_code < 400 and response.has_redirect_location:
            response.next_request = self._http._build_redirect_request(request, response)
        if _httpx_log.isEnabledFor(logging.INFO):
            _httpx_log.info(
                'HTTP Request: %s %s "%s %d %s"',
                request.method,
                request.url,
                response.http_version,
                response.status_code,
                response.reason_phrase,
            )
        return response


class NotJSON:
    """A body that did not parse as JSON (kept as text for error reports)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"<not JSON: {self.text[:60]!r}>"


def _json_or_text(response: httpx.Response) -> Any:
    content = response.content
    if not content:
        return NotJSON("")
    try:
        return decode_json(content)
    except (ValueError, UnicodeDecodeError):
        return NotJSON(response.text)


def header_value(headers: httpx.Headers, name: str) -> str | None:
    """``headers.get(name)``, without working out the headers' encoding when it is absent."""
    lowered = name.lower().encode("ascii")
    for _, key, _ in headers._list:
        if key == lowered:
            value: str = headers[name]  # every value of the name, comma-joined
            return value
    return None


def raw(parsed: Any) -> Any:
    """What an exception or a 410 answer carries as the body: the JSON, or the text."""
    return parsed.text if isinstance(parsed, NotJSON) else parsed


def expected_body(
    method: str, path: str, response: httpx.Response, expected: tuple[int, ...], note: str
) -> Any:
    """The parsed body (:class:`NotJSON` if it is not JSON) of an answer with an expected status.

    Any other 2xx raises :class:`UnexpectedStatus` (its message ends with ``note``), any
    other status the matching :class:`~broker.client.errors.BrokerError`.
    """
    status = response.status_code
    parsed = _json_or_text(response)
    if status in expected:
        return parsed
    if status < 300:
        raise UnexpectedStatus(
            status, raw(parsed), f"{method} {path}: unexpected status {status}{note}"
        )
    retry_after = parse_retry_after(header_value(response.headers, "Retry-After"))
    raise broker_error(status, raw(parsed), retry_after)


def json_body(method: str, path: str, status: int, parsed: Any) -> Any:
    """The JSON body of an expected answer; :class:`MalformedResponse` if it was not JSON."""
    if isinstance(parsed, NotJSON):
        raise MalformedResponse(status, parsed.text, f"{method} {path}: {status} body is not JSON")
    return parsed


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
