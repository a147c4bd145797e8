"""Per-request identity and timing: request ids, the OSB request identity echo, the log line."""

from __future__ import annotations

import logging
import time
import uuid

from flask import Flask, Response, g, request

from broker.logs import REQUEST_ID

__all__ = ["register_request_context"]

log = logging.getLogger("broker.request")

REQUEST_IDENTITY = "X-Broker-API-Request-Identity"
# Like brokerapi's correlation middleware: reuse an id the caller already has.
CORRELATION_HEADERS = (REQUEST_IDENTITY, "X-Request-ID", "X-Correlation-ID", "X-Vcap-Request-Id")
QUIET_PATHS = frozenset({"/livez", "/readyz", "/metrics"})


def register_request_context(app: Flask) -> None:
    @app.before_request
    def start() -> None:
        g.started = time.perf_counter()
        request_id = next(
            (request.headers[name] for name in CORRELATION_HEADERS if request.headers.get(name)),
            None,
        )
        g.request_id = request_id[:200] if request_id else uuid.uuid4().hex
        g.token = REQUEST_ID.set(g.request_id)

    @app.after_request
    def finish(response: Response) -> Response:
        identity = request.headers.get(REQUEST_IDENTITY)
        if identity:
            response.headers[REQUEST_IDENTITY] = identity
        duration_ms = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        g.duration_ms = duration_ms
        if request.path not in QUIET_PATHS:
            log.info(
                "%s %s %s %.1fms",
                request.method,
                request.path,
                response.status_code,
                duration_ms,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round(duration_ms, 2),
                    "operation": g.get("operation"),
                },
            )
        return response

    @app.teardown_request
    def reset(_: BaseException | None) -> None:
        token = g.pop("token", None)
        if token is not None:
            REQUEST_ID.reset(token)
