"""Recording every request in the journal, with secrets redacted.

The entry is written after the answer is known (status, body, fault, duration) and
before it leaves, so a test that reads the journal right after getting an answer
finds it. ``Authorization`` is redacted, request bodies lose secret-looking keys,
and every value under ``credentials`` in a response is replaced, keeping the keys
(so "the response carried key.json" stays checkable).
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flask import Request, Response
from flask.ctx import _AppCtxGlobals
from werkzeug.exceptions import RequestEntityTooLarge

from broker.logs import REDACTED, redact, redact_credentials
from broker.runtime import Runtime, runtime
from broker.web.request_context import resolved

__all__ = ["MAX_RECORDED_BODY", "record", "record_request"]

log = logging.getLogger("broker.journal")

# Larger bodies are summarised (the catalog, mostly): the journal stays small.
MAX_RECORDED_BODY = 16 * 1024
# As request.headers names them (title case).
REDACTED_HEADERS = frozenset({"Authorization", "Cookie", "Proxy-Authorization"})


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    if len(raw) > MAX_RECORDED_BODY:
        return {"truncated": True, "bytes": len(raw)}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return raw.decode("utf-8", "replace")


def _recorded_response(raw: bytes) -> Any:
    return redact_credentials(_decode(raw))


# GET answers repeat byte for byte (the catalog above all): decoding and redacting
# the same bytes once is enough. The result is shared between entries, never
# changed, and stores may recognise it to keep one copy (see SQLiteStore).
_recorded_get_response = functools.lru_cache(maxsize=8)(_recorded_response)
SHARED_RESPONSE_MIN = 1024


def _response_bytes(response: Response) -> bytes:
    # A body set from one bytes object (the catalog's, kept by the catalog) is that
    # very object: its hash is computed once, not for every answer that repeats it.
    chunks = response.response
    if type(chunks) is list and len(chunks) == 1 and type(chunks[0]) is bytes:
        return chunks[0]
    return response.get_data()


def _request_body(req: Request) -> Any:
    environ = req.environ
    if environ.get("CONTENT_LENGTH") in (None, "", "0") and "HTTP_TRANSFER_ENCODING" not in environ:
        return None  # HTTP/1.1: a request with neither header has no body
    # A body over the size limit was refused unread (413): record its size only,
    # reading it now would raise the same error again.
    length = req.content_length
    limit = req.max_content_length
    if limit is not None and length is not None and length > limit:
        return {"truncated": True, "bytes": length}
    try:
        raw = req.get_data(cache=True)
    except RequestEntityTooLarge:
        return {"truncated": True, "bytes": length}
    return _decode(raw)


def _headers(environ: Mapping[str, Any]) -> dict[str, str]:
    """The request headers as werkzeug names them, with secrets redacted."""
    headers = {}
    for key, value in environ.items():
        name = _header_name(key)
        if name is not None and (value or key[:5] == "HTTP_"):
            headers[name] = REDACTED if name in REDACTED_HEADERS else value
    return headers


@functools.lru_cache(maxsize=512)
def _header_name(key: str) -> str | None:
    """``HTTP_X_REQUEST_ID`` -> ``X-Request-Id`` (as ``request.headers`` has it), else None."""
    if key.startswith("HTTP_") and key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
        return key[5:].replace("_", "-").title()
    if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        return key.replace("_", "-").title()
    return None


def _iso_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def record(rt: Runtime, req: Request, ctx: _AppCtxGlobals, response: Response) -> None:
    """Write the journal entry of the request ``req`` answered by ``response``."""
    if rt.settings.journal_size == 0:
        return
    now = time.time()
    started = ctx.get("started")
    duration_ms = (time.perf_counter() - started) * 1000 if started is not None else None
    body = _request_body(req)
    dropped = bool(ctx.get("dropped"))
    response_body = None
    if not dropped and not response.is_streamed:
        raw = _response_bytes(response)
        if req.method == "GET" and len(raw) >= SHARED_RESPONSE_MIN:
            response_body = _recorded_get_response(raw)
        else:
            response_body = _recorded_response(raw)
    entry = {
        "time": _iso_time(now),
        "epoch": now,
        "request_id": ctx.get("request_id"),
        "method": req.method,
        "path": req.path,
        "query": req.args.to_dict(),
        "operation": ctx.get("operation"),
        "instance_id": ctx.get("instance_id"),
        "binding_id": ctx.get("binding_id"),
        "headers": _headers(req.environ),
        "originating_identity": ctx.get("originating_identity"),
        "body": redact(body),
        "status": None if dropped else response.status_code,
        "response": response_body,
        "duration_ms": round(duration_ms, 3) if duration_ms is not None else None,
        "fault": ctx.get("fault"),
    }
    try:
        rt.store.journal_append(entry, rt.settings.journal_size)
    except Exception:  # the answer matters more than its record
        log.warning("could not record the request in the journal", exc_info=True)


def record_request(response: Response) -> Response:
    """As an ``after_request`` hook (``/admin``, when its requests are journaled)."""
    req, ctx = resolved()
    record(runtime(), req, ctx, response)
    return response
