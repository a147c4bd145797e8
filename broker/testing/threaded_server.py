"""A broker in a background thread on a free port, for tests (the pytest plugin uses it).

Werkzeug's threaded WSGI server with its request handler changed in two ways:

* the client socket is put in the WSGI environ (``mockbroker.socket``), so fault
  rules can hang or drop connections exactly as they do under gunicorn;
* connections are kept alive (HTTP/1.1): a test's client sends request after
  request on one connection instead of opening one per request, which costs
  milliseconds each. Werkzeug's own handler closes every connection because it
  drains the socket after each response; this one reads exactly the request body
  that is left, and frames every answer (``Content-Length``, else chunked), so the
  next request starts where it should. Whenever that cannot be guaranteed (a
  chunked request body, a large unread body, an error after the answer began) the
  connection is closed, as before.
"""

from __future__ import annotations

import socket
import threading
import traceback
from collections.abc import Iterable
from typing import IO, TYPE_CHECKING, Any, cast

from flask import Flask
from werkzeug.exceptions import InternalServerError
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wsgi import LimitedStream

if TYPE_CHECKING:
    from broker.config import Settings

__all__ = ["KeepAliveHandler", "ThreadedBrokerServer"]

# An unread request body up to this size is read and dropped to keep the connection;
# a larger one closes it instead.
DRAIN_LIMIT = 1024 * 1024
# How often the serving thread looks whether it is asked to stop: a session's end
# waits for it (socketserver's default of half a second would be each session's).
STOP_POLL_SECONDS = 0.05


class KeepAliveHandler(WSGIRequestHandler):
    """One connection: requests one after another until the client or an answer closes it."""

    protocol_version = "HTTP/1.1"
    # Buffered: the status line, headers and body of an answer leave in one write
    # (flushed at its end, or per chunk), not as small segments Nagle would hold back.
    wbufsize = 64 * 1024

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def make_environ(self) -> dict[str, Any]:
        environ: dict[str, Any] = super().make_environ()
        environ["mockbroker.socket"] = self.connection
        length = environ.get("CONTENT_LENGTH")
        if "wsgi.input_terminated" in environ:
            self.close_connection = True  # a chunked body: no exact end to resume at
        elif length is not None and length.isdigit():
            environ["wsgi.input"] = LimitedStream(cast(IO[bytes], self.rfile), int(length))
        return environ

    def run_wsgi(self) -> None:
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.environ = environ = self.make_environ()
        answer = _Answer(self)
        try:
            answer.send(self.server.app(environ, answer.start_response))
        except (TimeoutError, ConnectionError, OSError) as error:
            self.close_connection = True
            self.connection_dropped(error, environ)
            return
        except Exception:
            # As werkzeug does: log it, answer 500 unless the answer began (then the
            # closed connection tells the client it is incomplete).
            self.close_connection = True
            self.log_error("Error on request:\n%s", traceback.format_exc())
            if not answer.started:
                answer.headers = None
                try:
                    answer.send(InternalServerError()(environ, answer.start_response))
                except OSError:
                    pass  # the client is gone too
        finally:
            if not self.close_connection:
                self._drain(environ)

    def _drain(self, environ: dict[str, Any]) -> None:
        """Read what the application left of the request body, or close the connection."""
        stream = environ.get("wsgi.input")
        if not isinstance(stream, LimitedStream):
            return
        if stream.limit - stream.tell() > DRAIN_LIMIT:
            self.close_connection = True
            return
        try:
            stream.exhaust()
        except Exception:
            self.close_connection = True

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        # The broker logs every request itself, with its request id.
        return None


class _Answer:
    """One response: status and headers once, then the body, framed for keep-alive."""

    def __init__(self, handler: KeepAliveHandler) -> None:
        self.handler = handler
        self.status: str | None = None
        self.headers: list[tuple[str, str]] | None = None
        self.started = False
        self.chunked = False

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Any:
        if exc_info is not None and self.started:
            raise exc_info[1].with_traceback(exc_info[2])
        self.status, self.headers = status, headers
        return self.write

    def _begin(self) -> None:
        handler = self.handler
        assert self.status is not None and self.headers is not None, "no start_response"
        code_text, _, reason = self.status.partition(" ")
        code = int(code_text)
        handler.send_response(code, reason)
        names = set()
        for name, value in self.headers:
            handler.send_header(name, value)
            names.add(name.lower())
        bodiless = handler.command == "HEAD" or code < 200 or code in (204, 304)
        if "content-length" not in names and not bodiless:
            if handler.request_version >= "HTTP/1.1":
                self.chunked = True
                handler.send_header("Transfer-Encoding", "chunked")
            else:
                handler.close_connection = True
        if handler.close_connection and "connection" not in names:
            handler.send_header("Connection", "close")
        handler.end_headers()
        self.started = True

    def write(self, data: bytes) -> None:
        if not self.started:
            self._begin()
        if not data:
            return
        wfile = self.handler.wfile
        if self.chunked:
            wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            wfile.flush()
        else:
            wfile.write(data)

    def send(self, body: Iterable[bytes]) -> None:
        try:
            for data in body:
                self.write(data)
            if not self.started:
                self._begin()
            if self.chunked:
                self.handler.wfile.write(b"0\r\n\r\n")
            self.handler.wfile.flush()
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()


class ThreadedBrokerServer:
    """``with ThreadedBrokerServer(create_app(...)) as server: server.url``."""

    def __init__(
        self, app: Flask, host: str = "127.0.0.1", port: int = 0, fd: int | None = None
    ) -> None:
        self.app = app
        self._server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, request_handler=KeepAliveHandler, fd=fd
        )
        self._server.daemon_threads = True  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": STOP_POLL_SECONDS},
            name="mockbroker",
            daemon=True,
        )

    @classmethod
    def for_settings(cls, settings: Settings) -> ThreadedBrokerServer:
        """Bind a free port first, so the app knows its own URL (dashboard URLs)."""
        from broker.app import create_app

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((settings.host, settings.port))
        sock.listen(128)
        host, port = sock.getsockname()[:2]
        app = create_app(settings.replace(port=port, public_url=f"http://{host}:{port}"))
        server = cls(app, host, port, fd=sock.fileno())
        sock.detach()  # werkzeug owns the descriptor now
        return server

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def reset(self, *, keep_journal: bool = False) -> list[str]:
        """What ``POST /admin/reset`` does, called directly: no request, no connection."""
        from broker.web.runtime import runtime_of

        return runtime_of(self.app).reset(keep_journal=keep_journal)

    def start(self) -> ThreadedBrokerServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> ThreadedBrokerServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
