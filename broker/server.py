"""Serving with gunicorn: our settings and our application, built once.

The listening socket is bound in the master before gunicorn starts: port 0 works
(the real port is known and printed), and gunicorn takes the socket over as
``fd://N``. The application is built in the master too and inherited by the
workers (``preload_app``); stores open fresh connections in each worker process.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from broker.config import Settings
from broker.logs import logging_config

__all__ = ["BrokerServer", "bind_socket"]


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
            "worker_class": "gthread",
            "threads": settings.threads,
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
            "errorlog": "-",
            "loglevel": settings.log_level.lower(),
            # Our own limit applies (413 from the app); gunicorn only guards headers.
            "limit_request_line": 8190,
            "forwarded_allow_ips": os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.application
