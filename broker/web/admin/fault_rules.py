"""``/admin/faults``: fault rules added, listed and deleted at run time."""

from __future__ import annotations

from flask import Response, request
from marshmallow import ValidationError

from broker.catalog.problems import describe_messages
from broker.faults.schemas import parse_fault_rule
from broker.osb.errors import BadRequest, NotFound
from broker.osb.schemas import load_or_400
from broker.web.admin import schemas as admin_schemas
from broker.web.admin.blueprint import admin, request_body
from broker.web.errors import json_response
from broker.web.runtime import current_runtime


def _fault_origin(default: str) -> str:
    query = admin_schemas.FaultOriginSchema()
    options = load_or_400(query, request.args.to_dict(), "fault rule query")
    return str(options.get("origin", default))


@admin.get("/faults")
def list_faults() -> Response:
    origin = _fault_origin("all")
    rules = [
        r
        for r in current_runtime().store.fault_list()
        if origin in ("all", r.get("origin", "admin"))
    ]
    return json_response({"faults": rules}, 200)


@admin.post("/faults")
def add_fault() -> Response:
    body = request_body()
    try:
        rule = parse_fault_rule(body)
    except ValidationError as exc:
        raise BadRequest(
            f"invalid fault rule: {describe_messages(exc.messages)}", error="InvalidFaultRule"
        ) from None
    rule_id = current_runtime().store.fault_add({**rule, "origin": "admin"})
    return json_response({"id": rule_id}, 201)


@admin.get("/faults/<rule_id>")
def get_fault(rule_id: str) -> Response:
    for rule in current_runtime().store.fault_list():
        if rule["id"] == rule_id:
            return json_response(rule, 200)
    raise NotFound(f"no fault rule {rule_id!r}")


@admin.delete("/faults/<rule_id>")
def delete_fault(rule_id: str) -> Response:
    if not current_runtime().store.fault_delete(rule_id):
        raise NotFound(f"no fault rule {rule_id!r}")
    return json_response({}, 200)


@admin.delete("/faults")
def delete_faults() -> Response:
    """Rules added at run time; the catalog's own rules only when ``?origin=`` says so."""
    origin = _fault_origin("admin")
    deleted = current_runtime().store.fault_delete_all(None if origin == "all" else origin)
    return json_response({"deleted": deleted}, 200)
