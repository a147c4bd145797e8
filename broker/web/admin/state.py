"""``/admin/reset``, ``/admin/state`` and ``/admin/operations``: the OSB state, paged."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response, request

from broker.osb.errors import BadRequest, NotFound
from broker.osb.schemas import load_or_400
from broker.redaction import redact, redact_credentials
from broker.storage.base import Position
from broker.storage.records import BindingRecord, InstanceRecord, OperationRecord
from broker.web.admin.blueprint import admin, object_body
from broker.web.admin.schemas import FinishSchema, OperationStateSchema, ResetSchema, StateSchema
from broker.web.errors import json_response
from broker.web.paging import decode_cursor, encode_cursor, position
from broker.web.runtime import current_runtime

STATE = StateSchema()
OPERATION = OperationStateSchema()
# Records per page of /admin/state and /admin/operations unless ?limit= says otherwise.
PAGE_SIZE = 1000
MAX_PAGE_SIZE = 10_000
Record = TypeVar("Record", InstanceRecord, BindingRecord)

# --- reset and state ----------------------------------------------------------------


@admin.post("/reset")
def reset() -> Response:
    options = load_or_400(ResetSchema(), object_body(required=False), "reset request")
    problems = current_runtime().reset(keep_journal=options["keep_journal"])
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
    rt = current_runtime()
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
    operations = current_runtime().store.list_operations(limit + 1, before=before, state=state)
    if len(operations) <= limit:
        return operations, False
    operations = operations[1:]
    return operations, operations[0].id


# --- operations ---------------------------------------------------------------------


@admin.post("/operations/<operation_id>")
def finish_operation(operation_id: str) -> Response:
    body = load_or_400(FinishSchema(), object_body(), "operation result")
    finished = current_runtime().broker.finish_operation(
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
    operation = current_runtime().store.get_operation(operation_id)
    if operation is None:
        raise NotFound(f"operation {operation_id!r} does not exist")
    return json_response(_operation(operation, _flag("credentials")), 200)
