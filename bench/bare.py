"""The reference: a bare Flask app answering the bench's routes with fixed bytes.

It is served by :class:`broker.serving.gunicorn_app.BrokerServer` itself with only the application
replaced, so workers, threads, worker class, keepalive, timeouts and logging
configuration are the broker's own, by construction. The answers are the exact
bytes and statuses the broker sent for the same requests during the bench's
sample cycle, so both servers move the same bytes.

Run as ``python -m bench.bare --responses FILE [--port 0] [--workers N] [--threads N]``;
it prints ``listening on http://…`` like ``mockbroker serve``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from flask import Flask, Response

from broker.config import Settings
from broker.serving.gunicorn_app import BrokerServer, bind_socket

__all__ = ["BareServer", "create_bare_app"]

# Route name -> (method, Flask rule); the names are the keys of the responses file.
ROUTES = {
    "catalog": ("GET", "/v2/catalog"),
    "provision": ("PUT", "/v2/service_instances/<instance_id>"),
    "deprovision": ("DELETE", "/v2/service_instances/<instance_id>"),
    "bind": ("PUT", "/v2/service_instances/<instance_id>/service_bindings/<binding_id>"),
    "unbind": ("DELETE", "/v2/service_instances/<instance_id>/service_bindings/<binding_id>"),
}


def create_bare_app(responses: dict[str, dict[str, Any]]) -> Flask:
    """A Flask app whose routes answer ``responses[name]`` = ``{"status", "body"}``."""
    app = Flask("bench.bare")
    for name, (method, rule) in ROUTES.items():
        answer = responses[name]
        body = str(answer["body"]).encode()
        status = int(answer["status"])

        def view(_body: bytes = body, _status: int = status, **_: str) -> Response:
            return Response(_body, status=_status, mimetype="application/json")

        app.add_url_rule(rule, endpoint=name, view_func=view, methods=[method])
    return app


class BareServer(BrokerServer):
    """The broker's gunicorn configuration serving the bare app."""

    def __init__(self, settings: Settings, sock: Any, responses: dict[str, dict[str, Any]]) -> None:
        super().__init__(settings, sock, create_bare_app(responses))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bare", description=__doc__)
    parser.add_argument("--responses", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    responses = json.loads(args.responses.read_text())
    sock = bind_socket(args.host, args.port)
    settings = Settings(
        host=args.host,
        port=sock.getsockname()[1],
        workers=args.workers,
        threads=args.threads,
        log_format="json",
        log_level=args.log_level.upper(),
    )
    print(f"bare flask listening on {settings.base_url}", file=sys.stderr, flush=True)
    BareServer(settings, sock, responses).run()


if __name__ == "__main__":
    main()
