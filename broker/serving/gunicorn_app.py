"""Serving with gunicorn: our settings and our application, built once.

The listening socket is bound in the master before gunicorn starts: port 0 works
(the real port is known and printed), and gunicorn takes the socket over as
``fd://N``. The application is built in the master too and inherited by the
workers (``preload_app``); stores open fresh connections in each worker process.
"""

from __future__ import annotations

import logging
import os
import socket
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from broker.config import Settings
from broker.logs import SERVER_LOGGER, logging_config

__all__ = ["BrokerServer", "ServerLogger", "bind_socket"]


class ServerLogger(Logger):  # type: ignore[misc]
    """gunicorn's logger, without access lines and under a name that says what it is.

    gunicorn logs everything it says (starting, booting a worker, a signal) through
    a logger named ``gunicorn.error``, so a search for "error" in the logs would
    match every start-up line. Its lines go to :data:`SERVER_LOGGER` instead, with
    their level; ``gunicorn.error`` stays for what an application writes to
    ``wsgi.errors``.

    The broker logs every request itself, with its request id. gunicorn would
    otherwise build an access line for every request (its logging is configured
    through ``logconfig_dict``) only for the ``gunicorn.access`` logger to drop it.
    """

    def setup(self, cfg: Any) -> None:
        # Runs from __init__ (and on reload) right after gunicorn chose its logger.
        self.error_log = logging.getLogger(SERVER_LOGGER)
        super().setup(cfg)

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        return None


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket (IPv4 or IPv6 as the host says)."""
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host.strip("[]"), port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class BrokerServer(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, sock: socket.socket, app: Flask) -> None:
        self.settings = settings
        self.sock = sock
        self.application = app
        super().__init__()

    def load_config(self) -> None:
        settings = self.settings
        options: dict[str, Any] = {
            "bind": [f"fd://{self.sock.fileno()}"],
            "workers": settings.effective_workers,
            # One event loop per worker reads complete requests, lanes of threads
            # answer them (broker/serving/worker.py; docs/guides/serving.md explains why).
            "worker_class": "broker.serving.worker.EventLoopWorker",
            "threads": settings.threads,
            "worker_connections": settings.max_connections,
            "timeout": settings.timeout,
            "graceful_timeout": 10,
            "keepalive": 5,
            "proc_name": "mockbroker",
            "preload_app": True,
            # Several brokers may run side by side (tests, replicas): no shared
            # control socket in the home folder.
            "control_socket_disable": True,
            "logconfig_dict": logging_config(settings.log_format, settings.log_level),
            "accesslog": None,
            "logger_class": ServerLogger,
            "errorlog": "-",
            "loglevel": settings.log_level.lower(),
            # Our own limit applies (413 from the app); gunicorn only guards headers.
            "limit_request_line": 8190,
            # Answers go through the worker's own writer, never os.sendfile().
            "sendfile": False,
            "forwarded_allow_ips": os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.application
