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
from datetime import UTC, datetime
from typing import Any, cast

from flask import Request, Response, current_app, g, request
from werkzeug.exceptions import RequestEntityTooLarge

from broker.logs import REDACTED, redact, redact_credentials
from broker.runtime import runtime

__all__ = ["MAX_RECORDED_BODY", "record_request"]

log = logging.getLogger("broker.journal")

# Larger bodies are summarised (the catalog, mostly): the journal stays small.
MAX_RECORDED_BODY = 16 * 1024
REDACTED_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})


def _decode(raw: bytes, mimetype: str | None) -> Any:
    if not raw:
        return None
    if len(raw) > MAX_RECORDED_BODY:
        return {"truncated": True, "bytes": len(raw)}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return raw.decode("utf-8", "replace")


def _recorded_response(raw: bytes, mimetype: str | None) -> Any:
    return redact_credentials(_decode(raw, mimetype))


# GET answers repeat byte for byte (the catalog above all): decoding and redacting
# the same bytes once is enough. The result is shared between entries, never
# changed, and stores may recognise it to keep one copy (see SQLiteStore).
_recorded_get_response = functools.lru_cache(maxsize=8)(_recorded_response)
SHARED_RESPONSE_MIN = 1024


def _request_body() -> Any:
    # A body over the size limit was refused unread (413): record its size only,
    # reading it now would raise the same error again.
    length = request.content_length
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit is not None and length is not None and length > limit:
        return {"truncated": True, "bytes": length}
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge:
        return {"truncated": True, "bytes": length}
    return _decode(raw, request.mimetype)


def record_request(response: Response) -> Response:
    """``after_request`` hook of the journaled blueprints."""
    rt = runtime()
    if rt.settings.journal_size == 0:
        return response
    # Every request is recorded: resolve the context proxies once, not per field.
    req: Request = cast(Any, request)._get_current_object()
    ctx: Any = cast(Any, g)._get_current_object()
    now = time.time()
    started = ctx.get("started")
    duration_ms = (time.perf_counter() - started) * 1000 if started is not None else None
    headers = {
        name: REDACTED if name.lower() in REDACTED_HEADERS else value
        for name, value in req.headers.items()
    }
    body = _request_body()
    dropped = bool(ctx.get("dropped"))
    response_body = None
    if not dropped and not response.is_streamed:
        raw = response.get_data()
        if req.method == "GET" and len(raw) >= SHARED_RESPONSE_MIN:
            response_body = _recorded_get_response(raw, response.mimetype)
        else:
            response_body = _recorded_response(raw, response.mimetype)
    entry = {
        "time": datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "epoch": now,
        "request_id": ctx.get("request_id"),
        "method": req.method,
        "path": req.path,
        "query": req.args.to_dict(),
        "operation": ctx.get("operation"),
        "instance_id": ctx.get("instance_id"),
        "binding_id": ctx.get("binding_id"),
        "headers": headers,
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
    return response
