"""``/admin``: the test-control API (admin credentials, JSON).

Every change goes through the store, so it is effective for every gunicorn worker
and every replica on their next request.

No answer is one unbounded document: ``/admin/state`` and ``/admin/operations`` are
pages of at most ``limit`` records (a ``next`` cursor gives the following page), and
a journal page stops at ``limit`` entries or :data:`JOURNAL_PAGE_BYTES`, whichever
comes first (``next`` / ``previous`` say where to go on).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import yaml
from flask import Blueprint, Response, g, request
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from broker.catalog.problems import CatalogError, describe_messages
from broker.decoding import DecodingError, decode_json, decode_yaml
from broker.faults.rules import parse_fault_rule
from broker.osb.errors import BadRequest, NotFound
from broker.osb.schemas import load_or_400
from broker.platform_checks.service import platform_checks
from broker.redaction import redact, redact_credentials
from broker.runtime import runtime
from broker.storage.base import JournalQuery, Position
from broker.storage.records import BindingRecord, InstanceRecord, OperationRecord
from broker.web import admin_schemas
from broker.web.admin_schemas import FinishSchema, OperationStateSchema, ResetSchema, StateSchema
from broker.web.connection import step_aside
from broker.web.errors import json_response
from broker.web.journal import record_request
from broker.web.paging import decode_cursor, encode_cursor, position

__all__ = ["admin", "JOURNAL_PAGE_BYTES", "MAX_WAIT_SECONDS"]

admin = Blueprint("admin", __name__, url_prefix="/admin")

MAX_WAIT_SECONDS = 120.0
STATE = StateSchema()
OPERATION = OperationStateSchema()
POLL_INTERVAL = 0.05
YAML_TYPES = frozenset({"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"})
# Records per page of /admin/state and /admin/operations unless ?limit= says otherwise.
PAGE_SIZE = 1000
MAX_PAGE_SIZE = 10_000
# A journal page holds at most this much encoded JSON, whatever its limit.
JOURNAL_PAGE_BYTES = 4 * 1024 * 1024
# Entries read from the store at a time while a journal page is put together.
JOURNAL_CHUNK = 200
Record = TypeVar("Record", InstanceRecord, BindingRecord)


@admin.after_request
def journal_admin_requests(response: Response) -> Response:
    if runtime().settings.journal_admin:
        return record_request(response)
    return response


@admin.before_request
def follow_other_processes() -> None:
    g.operation = "admin"
    runtime().sync()


def _body(required: bool = True) -> Any:
    raw = request.get_data(cache=True)
    if not raw.strip():
        if required:
            raise BadRequest("request body is required")
        return {}
    if request.mimetype in YAML_TYPES:
        try:
            return decode_yaml(raw)
        except yaml.YAMLError as exc:
            raise BadRequest(f"request body is not valid YAML: {exc}") from None
        except (DecodingError, UnicodeDecodeError) as exc:
            raise BadRequest(f"request body {exc}") from None
    try:
        return decode_json(raw)
    except DecodingError as exc:
        raise BadRequest(f"request body {exc}") from None


def _object_body(required: bool = True) -> dict[str, Any]:
    body = _body(required)
    if not isinstance(body, dict):
        raise BadRequest(f"request body must be a JSON object, got {type(body).__name__}")
    return body


# --- reset and state ----------------------------------------------------------------


@admin.post("/reset")
def reset() -> Response:
    options = load_or_400(ResetSchema(), _object_body(required=False), "reset request")
    rt = runtime()
    problems = rt.broker.release_everything()
    rt.store.reset(keep_journal=options["keep_journal"])
    platform_checks().clear()
    rt.sync()
    body: dict[str, Any] = {"reset": True}
    if problems:
        body["cleanup_problems"] = problems
    return json_response(body, 200)


# Fields that may carry secrets (parameters, contexts, identities, the backends' own
# state); ``?credentials=true`` shows them as stored.
REDACTED_FIELDS = ("parameters", "context", "backend_state", "originating_identity", "metadata")


def _instance(record: InstanceRecord, show_secrets: bool) -> dict[str, Any]:
    data = record.to_dict()
    if not show_secrets:
        for key in REDACTED_FIELDS:
            data[key] = redact(data[key])
        data["dashboard_url"] = redact(data["dashboard_url"])
    return data


def _binding(record: BindingRecord, show_secrets: bool) -> dict[str, Any]:
    data = record.to_dict()
    if not show_secrets:
        data["response"] = redact_credentials(data["response"])
        for key in ("parameters", "context", "backend_state", "originating_identity"):
            data[key] = redact(data[key])
        data["bind_resource"] = redact(data["bind_resource"])
    return data


def _operation_record(record: OperationRecord, show_secrets: bool) -> dict[str, Any]:
    data = record.to_dict()
    if not show_secrets:  # what an update will apply: its parameters, redacted as anywhere
        data["payload"] = redact(data["payload"])
    return data


def _operation(record: OperationRecord, show_secrets: bool = False) -> dict[str, Any]:
    dumped: dict[str, Any] = OPERATION.dump(_operation_record(record, show_secrets))
    return dumped


def _flag(name: str) -> bool:
    value = request.args.get(name, "false").lower()
    if value not in ("true", "false", "1", "0", "yes", "no"):
        raise BadRequest(f"{name} must be true or false, got {value!r}")
    return value in ("true", "1", "yes")


def _limit(default: int = PAGE_SIZE) -> int:
    value = request.args.get("limit")
    if value is None:
        return default
    if not value.isdigit() or not 1 <= int(value) <= MAX_PAGE_SIZE:
        raise BadRequest(f"limit must be a whole number from 1 to {MAX_PAGE_SIZE}, got {value!r}")
    return int(value)


def _records_page(
    list_page: Callable[[int, Position | None], list[Record]],
    limit: int,
    cursor: dict[str, Any],
    key: str,
) -> tuple[list[Record], Any]:
    """One page of instances or bindings, and where the next one starts (False: done)."""
    if cursor and cursor.get(key) is False:
        return [], False
    records = list_page(limit + 1, position(cursor.get(key)))
    if len(records) <= limit:
        return records, False
    records = records[:limit]
    return records, [records[-1].created_at, records[-1].id]


@admin.get("/state")
def state() -> Response:
    """Instances and bindings in creation order, operations newest first, a page each.

    Without ``cursor``, the first page: the oldest ``limit`` instances and bindings and
    the newest ``limit`` operations (everything, for a store that holds less). ``next``
    is there while any of the three has more.
    """
    rt = runtime()
    store = rt.store
    show = _flag("credentials")
    limit = _limit()
    cursor = decode_cursor(request.args.get("cursor"))
    instances, next_instance = _records_page(
        lambda size, after: store.list_instances(size, after), limit, cursor, "instances"
    )
    bindings, next_binding = _records_page(
        lambda size, after: store.list_bindings(size, after), limit, cursor, "bindings"
    )
    operations, next_operation = _operations_page(limit, cursor.get("operations"), None, cursor)
    body: dict[str, Any] = STATE.dump(
        {
            "instances": [_instance(record, show) for record in instances],
            "bindings": [_binding(record, show) for record in bindings],
            "operations": [_operation_record(record, show) for record in operations],
        }
    )
    if next_instance or next_binding or next_operation:
        body["next"] = encode_cursor(
            {"instances": next_instance, "bindings": next_binding, "operations": next_operation}
        )
    return json_response(body, 200)


def _operations_page(
    limit: int, before: Any, state: str | None, cursor: dict[str, Any]
) -> tuple[list[OperationRecord], Any]:
    """The newest ``limit`` operations before the cursor's (oldest first), and the next one."""
    if cursor and before is False:
        return [], False
    if before is not None and not isinstance(before, str):
        raise BadRequest("cursor is not one this broker gave out")
    operations = runtime().store.list_operations(limit + 1, before=before, state=state)
    if len(operations) <= limit:
        return operations, False
    operations = operations[1:]
    return operations, operations[0].id


# --- journal ------------------------------------------------------------------------


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
    store = runtime().store
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
    store = runtime().store
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
    store = runtime().store
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
    runtime().store.journal_clear()
    return json_response({}, 200)


# --- fault rules --------------------------------------------------------------------


def _fault_origin(default: str) -> str:
    query = admin_schemas.FaultOriginSchema()
    options = load_or_400(query, request.args.to_dict(), "fault rule query")
    return str(options.get("origin", default))


@admin.get("/faults")
def list_faults() -> Response:
    origin = _fault_origin("all")
    rules = [r for r in runtime().store.fault_list() if origin in ("all", r.get("origin", "admin"))]
    return json_response({"faults": rules}, 200)


@admin.post("/faults")
def add_fault() -> Response:
    body = _body()
    try:
        rule = parse_fault_rule(body)
    except ValidationError as exc:
        raise BadRequest(
            f"invalid fault rule: {describe_messages(exc.messages)}", error="InvalidFaultRule"
        ) from None
    rule_id = runtime().store.fault_add({**rule, "origin": "admin"})
    return json_response({"id": rule_id}, 201)


@admin.get("/faults/<rule_id>")
def get_fault(rule_id: str) -> Response:
    for rule in runtime().store.fault_list():
        if rule["id"] == rule_id:
            return json_response(rule, 200)
    raise NotFound(f"no fault rule {rule_id!r}")


@admin.delete("/faults/<rule_id>")
def delete_fault(rule_id: str) -> Response:
    if not runtime().store.fault_delete(rule_id):
        raise NotFound(f"no fault rule {rule_id!r}")
    return json_response({}, 200)


@admin.delete("/faults")
def delete_faults() -> Response:
    """Rules added at run time; the catalog's own rules only when ``?origin=`` says so."""
    origin = _fault_origin("admin")
    deleted = runtime().store.fault_delete_all(None if origin == "all" else origin)
    return json_response({"deleted": deleted}, 200)


# --- operations ---------------------------------------------------------------------


@admin.post("/operations/<operation_id>")
def finish_operation(operation_id: str) -> Response:
    body = load_or_400(FinishSchema(), _object_body(), "operation result")
    finished = runtime().broker.finish_operation(
        operation_id, body["state"], body.get("description")
    )
    return json_response(_operation(finished), 200)


@admin.get("/operations")
def list_operations() -> Response:
    """The newest ``limit`` operations (of a ``state``), oldest first; ``next`` pages back."""
    wanted = request.args.get("state")
    if wanted is not None and wanted not in ("in progress", "succeeded", "failed"):
        raise BadRequest(f"state must be 'in progress', 'succeeded' or 'failed', got {wanted!r}")
    cursor = decode_cursor(request.args.get("cursor"))
    operations, following = _operations_page(_limit(), cursor.get("operations"), wanted, cursor)
    show = _flag("credentials")
    body: dict[str, Any] = {"operations": [_operation(op, show) for op in operations]}
    if following:
        body["next"] = encode_cursor({"operations": following})
    return json_response(body, 200)


@admin.get("/operations/<operation_id>")
def get_operation(operation_id: str) -> Response:
    operation = runtime().store.get_operation(operation_id)
    if operation is None:
        raise NotFound(f"operation {operation_id!r} does not exist")
    return json_response(_operation(operation, _flag("credentials")), 200)


# --- catalog ------------------------------------------------------------------------


@admin.put("/catalog")
def put_catalog() -> Response:
    rt = runtime()
    document = _body()
    try:
        catalog = rt.catalogs.build(document)
    except CatalogError as exc:
        return json_response(
            {
                "error": "InvalidCatalog",
                "description": exc.description,
                "problems": [{"path": p.path, "message": p.message} for p in exc.problems],
            },
            400,
        )
    counts = rt.store.counts()
    in_use = {plan_id for _, plan_id in [*counts.instances, *counts.bindings]}
    rt.store.catalog_set(rt.catalogs.documents_after_push(document, catalog, in_use))
    rt.sync()
    plans = sum(len(service.plans) for service in catalog.services)
    return json_response({"services": len(catalog.services), "plans": plans}, 200)


@admin.get("/catalog")
def get_catalog() -> Response:
    current = runtime().catalogs.catalog
    return Response(current.body, status=200, mimetype="application/json")
