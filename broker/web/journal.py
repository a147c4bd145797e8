"""Recording every authenticated request in the journal, bounded and redacted.

The entry is written after the answer is known (status, body, fault, duration) and
before it leaves, so a test that reads the journal right after getting an answer
finds it. A request refused for its credentials is not recorded at all: it costs a
counter and a log line, nothing more, so anonymous noise can neither fill the disk
nor push real requests out of the journal.

What an entry holds and how large it may get is :mod:`broker.journal.entries`;
secrets are hidden by :mod:`broker.redaction` (secret-bearing headers, secret-looking
keys in the query and bodies, every value under ``credentials`` in a response while
its keys stay, so "the response carried key.json" stays checkable).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Mapping
from typing import Any

from flask import Request, Response
from werkzeug.exceptions import RequestEntityTooLarge

from broker.journal import entries
from broker.journal.entries import MAX_TEXT, cut
from broker.logs import utc_iso_milliseconds
from broker.redaction import redact, redact_credentials
from broker.web.request_state import RequestState, current
from broker.web.runtime import Runtime, current_runtime

__all__ = ["record", "record_request"]

log = logging.getLogger("broker.journal")

# Size of the fields every entry has, for the estimate entries.bounded() takes.
FIXED_FIELDS = 400


def _recorded_response(raw: bytes) -> Any:
    return redact_credentials(entries.body(raw))


# GET answers repeat byte for byte (the catalog above all): decoding and redacting
# the same bytes once is enough. The result is shared between entries, never
# changed, and stores may recognise it to keep one copy (see SegmentJournal).
_recorded_get_response = functools.lru_cache(maxsize=8)(_recorded_response)
SHARED_RESPONSE_MIN = 1024


def _response_bytes(response: Response) -> bytes:
    # A body set from one bytes object (the catalog's, kept by the catalog) is that
    # very object: its hash is computed once, not for every answer that repeats it.
    chunks = response.response
    if type(chunks) is list and len(chunks) == 1 and type(chunks[0]) is bytes:
        return chunks[0]
    return response.get_data()


def _request_body(req: Request, state: RequestState) -> tuple[Any, int]:
    """The body as recorded, and its size in bytes."""
    environ = req.environ
    if environ.get("CONTENT_LENGTH") in (None, "", "0") and "HTTP_TRANSFER_ENCODING" not in environ:
        return None, 0  # HTTP/1.1: a request with neither header has no body
    oversized = state.oversized_body
    if oversized is not None:  # a chunked body refused at the limit: its size so far
        return entries.summary(oversized), 0
    # A body over the size limit was refused unread (413): record its size only,
    # reading it now would raise the same error again.
    length = req.content_length
    limit = req.max_content_length
    if limit is not None and length is not None and length > limit:
        return entries.summary(length), 0
    try:
        raw = req.get_data(cache=True)
    except RequestEntityTooLarge:
        return entries.summary(length or 0), 0
    parsed = state.parsed_body
    if type(parsed) is dict and len(raw) <= entries.MAX_BODY_BYTES:
        return parsed, len(raw)  # decoded once already, by the view
    return entries.body(raw), len(raw)


def _header_items(environ: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The request headers as werkzeug names them."""
    names = _HEADER_NAMES
    items = []
    for key, value in environ.items():
        name = names.get(key, _UNKNOWN)
        if name is _UNKNOWN:
            name = _header_name(key)
            if len(names) < MAX_HEADER_NAMES:  # the keys are the client's to choose
                names[key] = name
        if name is not None and (value or key[:5] == "HTTP_"):
            items.append((name, value))
    return items


# environ key -> header name or None: a dict read, where a call per key cost more
# than the rest of the entry's headers.
_HEADER_NAMES: dict[str, str | None] = {}
_UNKNOWN = ""
MAX_HEADER_NAMES = 512


def _header_name(key: str) -> str | None:
    """``HTTP_X_REQUEST_ID`` -> ``X-Request-Id`` (as ``request.headers`` has it), else None."""
    if key.startswith("HTTP_") and key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
        return key[5:].replace("_", "-").title()
    if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        return key.replace("_", "-").title()
    return None


def _text(value: str | None) -> str | None:
    """An id or path as recorded: bounded, and with a NUL written out (no store keeps one).

    ``record`` tests :func:`plain` inline first: almost every id and path needs nothing.
    """
    if plain(value):
        return value
    assert value is not None
    return cut(value.replace("\x00", "\\u0000"))


def plain(value: str | None) -> bool:
    return value is None or (len(value) <= MAX_TEXT and "\x00" not in value)


def record(rt: Runtime, req: Request, state: RequestState, response: Response) -> None:
    """Write the journal entry of the request ``req`` answered by ``response``."""
    settings = rt.settings
    if settings.journal_size == 0 or not state.authenticated:
        return
    now = time.time()
    started = state.started
    duration_ms = (time.perf_counter() - started) * 1000 if started is not None else None
    body, body_size = _request_body(req, state)
    dropped = state.dropped
    response_body = None
    response_size = 0
    if not dropped and not response.is_streamed:
        raw = _response_bytes(response)
        response_size = len(raw)
        if req.method == "GET" and response_size >= SHARED_RESPONSE_MIN:
            response_body = _recorded_get_response(raw)
        else:
            response_body = _recorded_response(raw)
    headers, headers_size, headers_cut = entries.headers(_header_items(req.environ))
    path = req.path
    # Most requests carry no query: nothing to parse then.
    query = req.args.to_dict() if req.environ.get("QUERY_STRING") else {}
    identity = state.originating_identity
    instance_id, binding_id = state.instance_id, state.binding_id
    entry: dict[str, Any] = {
        "time": utc_iso_milliseconds(now),
        "epoch": now,
        "request_id": state.request_id,
        "method": req.method,
        "path": path if len(path) <= MAX_TEXT and "\x00" not in path else _text(path),
        "query": redact(
            {key: value if len(value) <= MAX_TEXT else cut(value) for key, value in query.items()}
        )
        if query
        else {},
        "operation": state.operation,
        "instance_id": instance_id if plain(instance_id) else _text(instance_id),
        "binding_id": binding_id if plain(binding_id) else _text(binding_id),
        "headers": headers,
        "originating_identity": redact(identity) if identity is not None else None,
        "body": redact(body),
        "status": None if dropped else response.status_code,
        "response": response_body,
        "duration_ms": round(duration_ms, 3) if duration_ms is not None else None,
        "fault": state.fault,
    }
    if headers_cut:
        entry["truncated"] = ["headers"]
    # Bodies over MAX_BODY_BYTES are recorded as a summary: count what is recorded.
    estimate = (
        FIXED_FIELDS
        + (body_size if body_size <= entries.MAX_BODY_BYTES else 0)
        + (response_size if response_size <= entries.MAX_BODY_BYTES else 0)
        + headers_size
        + len(path)
        + len(req.environ.get("QUERY_STRING", ""))
        + len(req.environ.get("HTTP_X_BROKER_API_ORIGINATING_IDENTITY", ""))
    )
    entry = entries.bounded(entry, estimate)
    try:
        # Kept on the request: findings about it name this id.
        state.journal_id = rt.store.journal_append(
            entry, settings.journal_size, settings.journal_max_bytes
        )
    except Exception:  # the answer matters more than its record
        log.warning("could not record the request in the journal", exc_info=True)


def record_request(response: Response) -> Response:
    """As an ``after_request`` hook (``/admin``, when its requests are journaled)."""
    req, state = current()
    record(current_runtime(), req, state, response)
    return response
