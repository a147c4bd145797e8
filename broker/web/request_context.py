"""Per-request identity and timing: request ids, the OSB request identity echo, the log line.

Every request passes through three steps, plain functions here: one before it
(identity and timing, then the credential guard, then the checks every
authenticated request gets), one after it (identity echo, log line) and one at
teardown. They are registered as the application's hooks, and the catalog's fast
path (:mod:`broker.web.fast_path`) calls the very same functions. Each hook
resolves Flask's ``request`` proxy once (about a microsecond per access through the
proxy) and keeps what it learns in the request's
:class:`~broker.web.request_state.RequestState`. Request headers are read from the
WSGI environ (``HTTP_X_REQUEST_ID`` is the ``X-Request-ID`` header, exactly as
werkzeug's ``request.headers`` reads it).

Nothing of a request is read or kept before its credentials are checked: a refused
request costs a counter and a log line (:mod:`broker.web.request_log`).
``RequestState.authenticated`` says it passed.
"""

from __future__ import annotations

import io
import logging
import os
import time
from collections.abc import Mapping
from typing import Any

from flask import Flask, Request, Response
from werkzeug.exceptions import RequestEntityTooLarge

from broker.logs import REQUEST_ID
from broker.osb.errors import BadRequest
from broker.web.access import require_credentials
from broker.web.request_log import log_request
from broker.web.request_state import RequestState, current
from broker.web.runtime import Runtime, runtime_of

__all__ = [
    "begin_request",
    "end_request",
    "finish_request",
    "refuse_nul",
    "register_request_context",
]

log = logging.getLogger("broker.request")

REQUEST_IDENTITY = "X-Broker-API-Request-Identity"
# Like brokerapi's correlation middleware: reuse an id the caller already has.
CORRELATION_HEADERS = (REQUEST_IDENTITY, "X-Request-ID", "X-Correlation-ID", "X-Vcap-Request-Id")
CORRELATION_KEYS = tuple(f"HTTP_{name.upper().replace('-', '_')}" for name in CORRELATION_HEADERS)
REQUEST_IDENTITY_KEY = CORRELATION_KEYS[0]
QUIET_PATHS = frozenset({"/livez", "/readyz", "/metrics"})


def refuse_nul(environ: Mapping[str, Any]) -> None:
    """400 for a path or query holding a NUL (``%00``): no store can keep one the same way.

    ``/v2`` requests are checked after their version header (the OSB order of
    checks), every other request right after its credentials.
    """
    query = environ.get("QUERY_STRING", "")
    if "\x00" in environ.get("PATH_INFO", "") or "%00" in query or "\x00" in query:
        raise BadRequest(
            "the request's path or query holds a NUL character (%00), which the broker "
            "does not store"
        )


def _buffer_chunked_body(req: Request, state: RequestState, limit: int | None) -> None:
    """Read a chunked body up to the size limit: over it, 413 as with a Content-Length.

    werkzeug would stop reading at the limit and hand over a truncated body. The body
    read here replaces the stream, with its length, so everything after reads it as
    if it had come with a Content-Length.
    """
    environ = req.environ
    encoding = environ.get("HTTP_TRANSFER_ENCODING")
    if encoding is None or "chunked" not in encoding.lower() or limit is None:
        return
    data = environ["wsgi.input"].read(limit + 1)
    if len(data) > limit:
        state.oversized_body = len(data)
        raise RequestEntityTooLarge()
    environ["wsgi.input"] = io.BytesIO(data)
    environ["CONTENT_LENGTH"] = str(len(data))


def new_request_id() -> str:
    """What ``uuid.uuid4().hex`` gives (version 4, RFC 4122 variant), at a third of the cost."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40
    raw[8] = raw[8] & 0x3F | 0x80
    return raw.hex()


def begin_request(rt: Runtime, req: Request, state: RequestState) -> None:
    """Identity and timing, then the credential guard: the first step of every request."""
    state.started = time.perf_counter()
    environ = req.environ
    request_id = next((environ[key] for key in CORRELATION_KEYS if environ.get(key)), None)
    state.request_id = request_id[:200] if request_id else new_request_id()
    state.request_id_token = REQUEST_ID.set(state.request_id)
    require_credentials(req, rt)
    state.authenticated = True
    if "HTTP_TRANSFER_ENCODING" in environ:
        _buffer_chunked_body(req, state, req.max_content_length)
    if environ.get("PATH_INFO", "")[:4] != "/v2/":
        refuse_nul(environ)


def finish_request(req: Request, state: RequestState, response: Response) -> None:
    """The identity echo and the log line, once the answer is known."""
    identity = req.environ.get(REQUEST_IDENTITY_KEY)
    if identity:
        response.headers[REQUEST_IDENTITY] = identity
    started = state.started
    duration_ms = (time.perf_counter() - started) * 1000 if started is not None else 0.0
    path = req.path
    if path not in QUIET_PATHS and log.isEnabledFor(logging.INFO):
        log_request(
            REQUEST_ID.get(),
            req.method,
            path,
            response.status_code,
            duration_ms,
            state.operation,
            time.time(),
        )


def end_request(state: RequestState) -> None:
    """The last step of every request, answered or not: forget its request id."""
    token, state.request_id_token = state.request_id_token, None
    if token is not None:
        REQUEST_ID.reset(token)


def register_request_context(app: Flask) -> None:
    rt = runtime_of(app)

    @app.before_request
    def begin() -> None:
        begin_request(rt, *current())

    @app.after_request
    def finish(response: Response) -> Response:
        finish_request(*current(), response)
        return response

    @app.teardown_request
    def reset(_: BaseException | None) -> None:
        end_request(current()[1])
