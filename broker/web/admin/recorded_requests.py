"""``/admin/requests``: the request journal, paged forward or back, and waited for."""

from __future__ import annotations

import dataclasses
import json
import time
from datetime import datetime
from typing import Any

from flask import Response, request
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from broker.osb.schemas import load_or_400
from broker.storage.base import JournalQuery
from broker.web.admin.blueprint import admin
from broker.web.connection import step_aside
from broker.web.errors import json_response
from broker.web.runtime import current_runtime

# How long a request may wait for entries (?wait=), and how often it looks.
MAX_WAIT_SECONDS = 120.0
POLL_INTERVAL = 0.05
# A journal page holds at most this much encoded JSON, whatever its limit.
JOURNAL_PAGE_BYTES = 4 * 1024 * 1024
# Entries read from the store at a time while a journal page is put together.
JOURNAL_CHUNK = 200


class SinceField(fields.Field):  # type: ignore[type-arg]
    """A journal id (exclusive) or an ISO 8601 time (inclusive)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> tuple[str, float]:
        text = str(value).strip()
        if text.isdigit():
            return ("id", int(text))
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError("must be a journal id or an ISO 8601 time") from None
        if moment.tzinfo is None:
            raise ValidationError("an ISO 8601 time needs a timezone (e.g. Z)")
        return ("time", moment.timestamp())


class JournalQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    operation = fields.String(validate=validate.Length(min=1))
    instance_id = fields.String(validate=validate.Length(min=1))
    binding_id = fields.String(validate=validate.Length(min=1))
    method = fields.String(validate=validate.OneOf(("GET", "PUT", "PATCH", "DELETE", "POST")))
    status = fields.Integer(validate=validate.Range(min=100, max=599))
    since = SinceField()
    before = fields.Integer(validate=validate.Range(min=1))
    limit = fields.Integer(load_default=1000, validate=validate.Range(min=1, max=100_000))
    wait = fields.Float(load_default=0.0, validate=validate.Range(min=0, max=MAX_WAIT_SECONDS))


def _journal_query() -> tuple[JournalQuery, float]:
    args = request.args.to_dict()
    if "method" in args:
        args["method"] = args["method"].upper()
    options = load_or_400(JournalQuerySchema(), args, "journal query")
    since = options.pop("since", None)
    wait = options.pop("wait")
    before = options.pop("before", None)
    query = JournalQuery(
        **options,
        since_id=since[1] if since and since[0] == "id" else None,
        since_time=since[1] if since and since[0] == "time" else None,
        before_id=before,
    )
    return query, wait


def _encoded(entry: dict[str, Any]) -> str:
    return json.dumps(
        {key: value for key, value in entry.items() if key != "epoch"}, separators=(",", ":")
    )


def _first_chunk(query: JournalQuery, wait: float) -> list[dict[str, Any]]:
    """The first entries of a page, waiting up to ``wait`` seconds for at least one."""
    store = current_runtime().store
    chunk = store.journal_query(query)
    if chunk or wait <= 0:
        return chunk
    deadline = time.monotonic() + wait
    # A long-poll lets other admin requests have its thread's place while it waits.
    with step_aside(request.environ)():
        while not chunk and time.monotonic() < deadline:
            time.sleep(POLL_INTERVAL)
            chunk = store.journal_query(query)
    return chunk


def _journal_page(query: JournalQuery, wait: float) -> tuple[list[str], dict[str, int]]:
    """A page of encoded entries, oldest first, and where to go on from it.

    With a ``since``, the oldest matches after it, up to ``limit`` entries or
    :data:`JOURNAL_PAGE_BYTES`; ``next`` is the ``since`` that continues when more
    matched. Without one, the newest ``limit`` matches, as many of the newest of them
    as fit in :data:`JOURNAL_PAGE_BYTES`; ``previous`` is the ``before`` that gives
    older ones when some were left out. Entries are read from the store a chunk at a
    time, so a page never holds more than its budget in memory.
    """
    if query.forward:
        return _forward_page(query, wait)
    return _backward_page(query, wait)


def _forward_page(query: JournalQuery, wait: float) -> tuple[list[str], dict[str, int]]:
    store = current_runtime().store
    lines: list[str] = []
    used = 0
    last: int | None = None
    while True:
        size = min(JOURNAL_CHUNK, query.limit - len(lines) + 1)
        chunk_query = dataclasses.replace(
            query, limit=size, since_id=query.since_id if last is None else last
        )
        chunk = (
            _first_chunk(chunk_query, wait) if last is None else store.journal_query(chunk_query)
        )
        for entry in chunk:
            text = _encoded(entry)
            if len(lines) == query.limit or (lines and used + len(text) > JOURNAL_PAGE_BYTES):
                return lines, ({"next": last} if last is not None else {})
            lines.append(text)
            used += len(text)
            last = int(entry["id"])
        if len(chunk) < size:
            return lines, {}


def _backward_page(query: JournalQuery, wait: float) -> tuple[list[str], dict[str, int]]:
    store = current_runtime().store
    chunks: list[list[str]] = []
    taken = 0
    used = 0
    before = query.before_id
    oldest: int | None = None
    first = True
    while True:
        size = min(JOURNAL_CHUNK, query.limit - taken + 1)
        chunk_query = dataclasses.replace(query, limit=size, before_id=before)
        chunk = _first_chunk(chunk_query, wait) if first else store.journal_query(chunk_query)
        first = False
        kept: list[str] = []
        for entry in reversed(chunk):  # newest first
            text = _encoded(entry)
            if taken == query.limit or (taken and used + len(text) > JOURNAL_PAGE_BYTES):
                chunks.append(kept[::-1])
                return _joined(chunks), ({"previous": oldest} if oldest is not None else {})
            kept.append(text)
            taken += 1
            used += len(text)
            oldest = int(entry["id"])
        chunks.append(kept[::-1])
        if len(chunk) < size or not chunk:
            return _joined(chunks), {}
        before = int(chunk[0]["id"])


def _joined(chunks: list[list[str]]) -> list[str]:
    """Chunks gathered newest first, as one list oldest first."""
    return [line for chunk in reversed(chunks) for line in chunk]


@admin.get("/requests")
def requests_() -> Response:
    query, wait = _journal_query()
    lines, more = _journal_page(query, wait)
    tail = "".join(f',"{key}":{value}' for key, value in more.items())
    text = '{"requests":[' + ",".join(lines) + "]" + tail + "}"
    return Response(text, status=200, mimetype="application/json")


@admin.get("/requests.jsonl")
def requests_jsonl() -> Response:
    query, wait = _journal_query()
    lines, more = _journal_page(query, wait)
    response = Response(
        "".join(line + "\n" for line in lines), status=200, mimetype="application/x-ndjson"
    )
    for key, value in more.items():
        response.headers[f"X-Journal-{key.capitalize()}"] = str(value)
    return response


@admin.delete("/requests")
def clear_requests() -> Response:
    current_runtime().store.journal_clear()
    return json_response({}, 200)


# --- fault rules --------------------------------------------------------------------
