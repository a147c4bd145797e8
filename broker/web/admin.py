"""``/admin``: the test-control API (admin credentials, JSON).

Every change goes through the store, so it is effective for every gunicorn worker
and every replica on their next request.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

import yaml
from flask import Blueprint, Response, g, request
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from broker.catalog.problems import CatalogError, describe_messages
from broker.faults.rules import parse_fault_rule
from broker.logs import redact, redact_credentials
from broker.osb.errors import BadRequest, NotFound
from broker.osb.schemas import load_or_400
from broker.runtime import runtime
from broker.storage.base import JournalQuery
from broker.storage.records import BindingRecord, InstanceRecord, OperationRecord
from broker.web import admin_schemas
from broker.web.admin_schemas import FinishSchema, OperationStateSchema, ResetSchema, StateSchema
from broker.web.connection import step_aside
from broker.web.errors import json_response
from broker.web.journal import record_request

__all__ = ["admin", "MAX_WAIT_SECONDS"]

admin = Blueprint("admin", __name__, url_prefix="/admin")

MAX_WAIT_SECONDS = 120.0
STATE = StateSchema()
OPERATION = OperationStateSchema()
POLL_INTERVAL = 0.05
YAML_TYPES = frozenset({"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"})


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
            return yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise BadRequest(f"request body is not valid YAML: {exc}") from None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("request body is not valid JSON") from None


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
    rt.sync()
    body: dict[str, Any] = {"reset": True}
    if problems:
        body["cleanup_problems"] = problems
    return json_response(body, 200)


def _instance(record: InstanceRecord, show_secrets: bool) -> dict[str, Any]:
    data = record.to_dict()
    if not show_secrets:
        data["parameters"] = redact(data["parameters"])
        data["backend_state"] = redact(data["backend_state"])
    return data


def _binding(record: BindingRecord, show_secrets: bool) -> dict[str, Any]:
    data = record.to_dict()
    if not show_secrets:
        data["response"] = redact_credentials(data["response"])
        data["parameters"] = redact(data["parameters"])
        data["backend_state"] = redact(data["backend_state"])
    return data


def _operation(record: OperationRecord) -> dict[str, Any]:
    dumped: dict[str, Any] = OPERATION.dump(record.to_dict())
    return dumped


def _flag(name: str) -> bool:
    value = request.args.get(name, "false").lower()
    if value not in ("true", "false", "1", "0", "yes", "no"):
        raise BadRequest(f"{name} must be true or false, got {value!r}")
    return value in ("true", "1", "yes")


@admin.get("/state")
def state() -> Response:
    rt = runtime()
    show = _flag("credentials")
    state = {
        "instances": [_instance(record, show) for record in rt.store.list_instances()],
        "bindings": [_binding(record, show) for record in rt.store.list_bindings()],
        "operations": [record.to_dict() for record in rt.store.list_operations()],
    }
    return json_response(STATE.dump(state), 200)


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
    limit = fields.Integer(load_default=1000, validate=validate.Range(min=1, max=100_000))
    wait = fields.Float(load_default=0.0, validate=validate.Range(min=0, max=MAX_WAIT_SECONDS))


def _journal_query() -> tuple[JournalQuery, float]:
    args = request.args.to_dict()
    if "method" in args:
        args["method"] = args["method"].upper()
    options = load_or_400(JournalQuerySchema(), args, "journal query")
    since = options.pop("since", None)
    wait = options.pop("wait")
    query = JournalQuery(
        **options,
        since_id=since[1] if since and since[0] == "id" else None,
        since_time=since[1] if since and since[0] == "time" else None,
    )
    return query, wait


def _entries(query: JournalQuery, wait: float) -> list[dict[str, Any]]:
    store = runtime().store
    entries = store.journal_query(query)
    if entries or wait <= 0:
        return [_public_entry(entry) for entry in entries]
    deadline = time.monotonic() + wait
    # A long-poll lets other admin requests have its thread's place while it waits.
    with step_aside(request.environ)():
        while not entries and time.monotonic() < deadline:
            time.sleep(POLL_INTERVAL)
            entries = store.journal_query(query)
    return [_public_entry(entry) for entry in entries]


def _public_entry(entry: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in entry.items() if key != "epoch"}


@admin.get("/requests")
def requests_() -> Response:
    query, wait = _journal_query()
    return json_response({"requests": _entries(query, wait)}, 200)


@admin.get("/requests.jsonl")
def requests_jsonl() -> Response:
    query, wait = _journal_query()
    lines = "".join(
        json.dumps(entry, separators=(",", ":")) + "\n" for entry in _entries(query, wait)
    )
    return Response(lines, status=200, mimetype="application/x-ndjson")


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
    wanted = request.args.get("state")
    if wanted is not None and wanted not in ("in progress", "succeeded", "failed"):
        raise BadRequest(f"state must be 'in progress', 'succeeded' or 'failed', got {wanted!r}")
    operations = runtime().store.list_operations()
    return json_response(
        {
            "operations": [
                _operation(op) for op in operations if wanted is None or op.state == wanted
            ]
        },
        200,
    )


@admin.get("/operations/<operation_id>")
def get_operation(operation_id: str) -> Response:
    operation = runtime().store.get_operation(operation_id)
    if operation is None:
        raise NotFound(f"operation {operation_id!r} does not exist")
    return json_response(_operation(operation), 200)


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
    rt.store.catalog_push(document)
    rt.sync()
    plans = sum(len(service.plans) for service in catalog.services)
    return json_response({"services": len(catalog.services), "plans": plans}, 200)


@admin.get("/catalog")
def get_catalog() -> Response:
    current = runtime().catalogs.catalog
    return Response(current.body, status=200, mimetype="application/json")
