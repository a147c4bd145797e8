"""Per-request identity and timing: request ids, the OSB request identity echo, the log line.

Every request passes through three application hooks, registered here: one before
it (identity and timing, then the credential guard), one after it (identity echo,
log line) and one at teardown. Each resolves Flask's context proxies once:
``request`` and ``g`` cost about a microsecond per access through the proxy.
Request headers are read from the WSGI environ (``HTTP_X_REQUEST_ID`` is the
``X-Request-ID`` header, exactly as werkzeug's ``request.headers`` reads it).
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from flask import Flask, Request, Response, g, request
from flask.ctx import _AppCtxGlobals

from broker.logs import REQUEST_ID
from broker.runtime import EXTENSION
from broker.web.guard import require_credentials

__all__ = ["register_request_context", "resolved"]

log = logging.getLogger("broker.request")

REQUEST_IDENTITY = "X-Broker-API-Request-Identity"
# Like brokerapi's correlation middleware: reuse an id the caller already has.
CORRELATION_HEADERS = (REQUEST_IDENTITY, "X-Request-ID", "X-Correlation-ID", "X-Vcap-Request-Id")
CORRELATION_KEYS = tuple(f"HTTP_{name.upper().replace('-', '_')}" for name in CORRELATION_HEADERS)
REQUEST_IDENTITY_KEY = CORRELATION_KEYS[0]
QUIET_PATHS = frozenset({"/livez", "/readyz", "/metrics"})
LINE = "%s %s %s %.1fms"


def resolved() -> tuple[Request, _AppCtxGlobals]:
    """The current request and ``g`` themselves, for code that reads them many times."""
    req: Any = request
    ctx: Any = g
    return req._get_current_object(), ctx._get_current_object()


def register_request_context(app: Flask) -> None:
    @app.before_request
    def begin() -> None:
        req, ctx = resolved()
        ctx.started = time.perf_counter()
        environ = req.environ
        request_id = next((environ[key] for key in CORRELATION_KEYS if environ.get(key)), None)
        ctx.request_id = request_id[:200] if request_id else uuid.uuid4().hex
        ctx.token = REQUEST_ID.set(ctx.request_id)
        require_credentials(req, app.extensions[EXTENSION])

    @app.after_request
    def finish(response: Response) -> Response:
        req, ctx = resolved()
        identity = req.environ.get(REQUEST_IDENTITY_KEY)
        if identity:
            response.headers[REQUEST_IDENTITY] = identity
        started = ctx.get("started")
        duration_ms = (time.perf_counter() - started) * 1000 if started is not None else 0.0
        path = req.path
        if path not in QUIET_PATHS and log.isEnabledFor(logging.INFO):
            method, status = req.method, response.status_code
            # Made here rather than by log.info(): the line's origin is known, and
            # looking it up on the stack for every request is wasted work.
            log.handle(
                log.makeRecord(
                    log.name,
                    logging.INFO,
                    __file__,
                    0,
                    LINE,
                    (method, path, status, duration_ms),
                    None,
                    extra={
                        "method": method,
                        "path": path,
                        "status": status,
                        "duration_ms": round(duration_ms, 2),
                        "operation": ctx.get("operation"),
                    },
                )
            )
        return response

    @app.teardown_request
    def reset(_: BaseException | None) -> None:
        token = g.pop("token", None)
        if token is not None:
            REQUEST_ID.reset(token)
