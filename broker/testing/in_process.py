"""The fixture's client calls the session's own broker in-process: no socket, the same answers.

``osb_broker.client`` of the session's own broker sends each request as one call
of the broker's WSGI application, in the test's thread, through
:class:`InProcessTransport` (an ``httpx`` transport): the request leaves the client
exactly as it would go over HTTP (the same headers, body and query), the environ is
the one the threaded server would build for it, and the answer comes back as
``httpx`` would read it. No socket, no server thread, no thread switch: a catalog
request costs what the application costs, not a loopback round trip.

What a socket would have told the client is told the same way:

* the read timeout: the application sees the client gone once it passes (a fault
  rule's delay or hang ends there, as it does when a real client gives up), and the
  client gets :class:`httpx.ReadTimeout`;
* a dropped connection (a fault rule's ``drop_connection``, or a hang that ran its
  course): :class:`httpx.RemoteProtocolError`, as from a server that closed the
  connection without answering.

``osb_broker.url`` is still served by the threaded server, for any other client.
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote

import httpx

from broker.web.request_state import ENVIRON_KEY, RequestState

__all__ = ["InProcessTransport"]

# Header names whose environ keys are remembered, at most (a test may send any).
MAX_HEADER_NAMES = 256

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _wsgi_string(text: str) -> str:
    """A str as WSGI carries it: its UTF-8 bytes, one character per byte."""
    return text.encode("utf-8").decode("latin-1")


class InProcessTransport(httpx.BaseTransport):
    """Hands each request to ``app`` as the server at ``host``:``port`` would."""

    def __init__(self, app: WsgiApp, host: str, port: int) -> None:
        self.app = app
        self.host = host
        self.port = str(port)
        # What every request's environ holds; each request copies it and adds its own.
        self._fixed: dict[str, Any] = {
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "SERVER_SOFTWARE": "mockbroker-in-process",
            "SCRIPT_NAME": "",
            "REMOTE_ADDR": "127.0.0.1",
            "REMOTE_PORT": 0,
            "SERVER_NAME": host,
            "SERVER_PORT": self.port,
            "SERVER_PROTOCOL": "HTTP/1.1",
        }
        # The environ key of each header name seen (the same few names every request).
        self._keys: dict[bytes, str] = {}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout", {}).get("read")
        deadline = None if timeout is None else time.monotonic() + timeout

        def gone() -> bool:
            return deadline is not None and time.monotonic() > deadline

        environ = self._environ(request, request.read(), gone)
        answer: list[Any] = []
        chunks: list[bytes] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            if exc_info is not None and answer:
                raise exc_info[1].with_traceback(exc_info[2])
            answer[:] = [status, headers]
            return chunks.append

        result = self.app(environ, start_response)
        try:
            chunks.extend(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        if gone():
            raise httpx.ReadTimeout("timed out", request=request)
        state: RequestState | None = environ.get(ENVIRON_KEY)
        if state is not None and state.dropped:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        status, headers = answer
        body = b"".join(chunks)
        extensions = {"http_version": b"HTTP/1.1", "reason_phrase": status[4:].encode()}
        names = {name.lower() for name, _ in headers}
        if "content-encoding" in names or "content-length" not in names:
            # Decoded, or its length added, as httpx does with a body it is given.
            return httpx.Response(
                int(status[:3]),
                headers=headers,
                content=body,
                request=request,
                extensions=extensions,
            )
        # A plain body of a known length: what httpx would read from a socket, as is.
        response = httpx.Response(
            int(status[:3]),
            headers=headers,
            stream=httpx.ByteStream(body),
            request=request,
            extensions=extensions,
        )
        response._content = body
        return response

    def _environ(
        self, request: httpx.Request, body: bytes, gone: Callable[[], bool]
    ) -> dict[str, Any]:
        """What the threaded server's handler builds for this request (werkzeug's rules)."""
        target = request.url.raw_path.decode("ascii")
        path, _, query = target.partition("?")
        environ = self._fixed.copy()
        environ["wsgi.input"] = io.BytesIO(body)
        environ["wsgi.errors"] = sys.stderr  # per request: pytest swaps it per test
        environ["REQUEST_METHOD"] = request.method
        environ["PATH_INFO"] = _wsgi_string(unquote(path))
        environ["QUERY_STRING"] = query
        environ["REQUEST_URI"] = environ["RAW_URI"] = target
        # No socket to watch: the client is gone once its read timeout has passed.
        environ["mockbroker.client_gone"] = gone
        keys = self._keys
        for raw_name, raw_value in request.headers.raw:
            key = keys.get(raw_name)
            if key is None:
                key = _environ_key(raw_name.decode("latin-1"))
                if len(keys) < MAX_HEADER_NAMES:
                    keys[raw_name] = key
            if not key:
                continue
            value = raw_value.decode("latin-1")
            if key in environ and key.startswith("HTTP_"):
                value = f"{environ[key]},{value}"
            environ[key] = value
        if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            environ["wsgi.input_terminated"] = True
        return environ


def _environ_key(name: str) -> str:
    """The environ key of a request header (empty: dropped, as a name with ``_`` is)."""
    if "_" in name:
        return ""
    key = name.upper().replace("-", "_")
    return key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"
