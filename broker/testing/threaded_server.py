"""A broker in a background thread on a free port, for tests (the pytest plugin uses it).

Werkzeug's threaded WSGI server, with one addition: the client socket is put in the
WSGI environ (``mockbroker.socket``), so fault rules can hang or drop connections
exactly as they do under gunicorn.
"""

from __future__ import annotations

import socket
import threading
from typing import TYPE_CHECKING, Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

if TYPE_CHECKING:
    from broker.config import Settings

__all__ = ["ThreadedBrokerServer"]


class _SocketExposingHandler(WSGIRequestHandler):
    def make_environ(self) -> dict[str, Any]:
        environ: dict[str, Any] = super().make_environ()
        environ["mockbroker.socket"] = self.connection
        return environ

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        # The broker logs every request itself, with its request id.
        return None


class ThreadedBrokerServer:
    """``with ThreadedBrokerServer(create_app(...)) as server: server.url``."""

    def __init__(
        self, app: Flask, host: str = "127.0.0.1", port: int = 0, fd: int | None = None
    ) -> None:
        self.app = app
        self._server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, request_handler=_SocketExposingHandler, fd=fd
        )
        self._server.daemon_threads = True  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="mockbroker", daemon=True
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
