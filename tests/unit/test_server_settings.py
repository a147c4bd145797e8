"""The gunicorn configuration ``mockbroker serve`` runs with."""

from __future__ import annotations

from flask import Flask

from broker.config import Settings
from broker.serving.gunicorn_app import BrokerServer, ServerLogger, bind_socket


def test_gunicorn_builds_no_access_lines_since_the_broker_logs_every_request_itself() -> None:
    sock = bind_socket("127.0.0.1", 0)
    try:
        server = BrokerServer(Settings(log_format="json"), sock, Flask("probe"))
        assert server.cfg.logger_class is ServerLogger
        logger = ServerLogger(server.cfg)
        # Building an access line would read the response and the request: there are none.
        assert logger.access(None, None, {}, None) is None
    finally:
        sock.close()
