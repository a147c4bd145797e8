"""``/v2``: the ten OSB endpoints. Parse, call the broker, map the outcome to a status.

The request checks and what follows every answer are the steps of
:mod:`broker.web.osb_steps`, registered here as the blueprint's hooks (an endpoint
the answered version does not define is a 404 there, and no fault rule applies to
it); then the body is checked. Every route is wrapped by :func:`osb_operation`,
which applies a fault rule if one fires.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Request, Response
from marshmallow import Schema

from broker.decoding import DecodingError, decode_json
from broker.faults.engine import RequestTarget
from broker.osb import schemas
from broker.osb.errors import BadRequest, OSBError
from broker.osb.outcome import Outcome, RequestInfo
from broker.osb.versions import NEWEST, answer_fields
from broker.web.errors import json_response, render_osb_error
from broker.web.fault_actions import apply_response_modifiers, replacement
from broker.web.osb_steps import answered, check_request, name_request
from broker.web.request_state import NOT_PARSED, RequestState, current
from broker.web.runtime import Runtime, current_runtime

__all__ = ["catalog_answer", "osb"]

osb = Blueprint("osb", __name__, url_prefix="/v2")

STATUS = {"created": 201, "identical": 200, "accepted": 202, "done": 200}

PROVISION_REQUEST = schemas.ProvisionRequestSchema()
UPDATE_REQUEST = schemas.UpdateRequestSchema()
BIND_REQUEST = schemas.BindRequestSchema()
DELETE_QUERY = schemas.DeleteQuerySchema()
FETCH_QUERY = schemas.FetchQuerySchema()
LAST_OPERATION_QUERY = schemas.LastOperationQuerySchema()
PROVISION_RESPONSE = schemas.ProvisionResponseSchema()
UPDATE_RESPONSE = schemas.UpdateResponseSchema()
OPERATION_RESPONSE = schemas.OperationResponseSchema()
BIND_RESPONSE = schemas.BindResponseSchema()
FETCH_INSTANCE_RESPONSE = schemas.FetchInstanceResponseSchema()
FETCH_BINDING_RESPONSE = schemas.FetchBindingResponseSchema()
LAST_OPERATION_RESPONSE = schemas.LastOperationSchema()


# --- request checks -----------------------------------------------------------------


@osb.url_value_preprocessor
def name_operation(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """URL value preprocessors run before every before-request hook, so even a request
    the credential guard refuses is journaled under its operation."""
    name_request(current()[1], endpoint, values)


@osb.before_request
def check_osb_request() -> None:
    check_request(current_runtime(), *current())


@osb.after_request
def count_and_record(response: Response) -> Response:
    answered(current_runtime(), *current(), response)
    return response


UNPARSABLE = object()


def parsed_body(req: Request, state: RequestState) -> Any:
    """The body parsed as JSON, once per request (fault matching reads it too), or UNPARSABLE.

    Decoded within :mod:`broker.decoding`'s limits; why a body is UNPARSABLE is kept
    in ``state.body_problem`` for the 400 that follows.
    """
    parsed = state.parsed_body
    if parsed is NOT_PARSED:
        try:
            parsed = decode_json(req.get_data(cache=True))
        except DecodingError as exc:
            parsed = UNPARSABLE
            state.body_problem = str(exc)
        state.parsed_body = parsed
    return parsed


def json_body(req: Request, state: RequestState) -> dict[str, Any]:
    mimetype = req.mimetype
    if mimetype and mimetype != "application/json" and not mimetype.endswith("+json"):
        raise BadRequest(f"Content-Type must be application/json, got {mimetype!r}")
    raw = req.get_data(cache=True)
    if not raw.strip():
        raise BadRequest("request body is required (a JSON object)")
    data = parsed_body(req, state)
    if data is UNPARSABLE:
        raise BadRequest(f"request body {state.body_problem or 'is not valid JSON'}")
    if not isinstance(data, dict):
        raise BadRequest(f"request body must be a JSON object, got {type(data).__name__}")
    return data


def accepts_incomplete(req: Request) -> bool:
    value = req.args.get("accepts_incomplete")
    if value is None or value.lower() == "false":
        return False
    if value.lower() == "true":
        return True
    raise BadRequest(f"accepts_incomplete must be true or false, got {value!r}")


def request_info(req: Request, state: RequestState) -> RequestInfo:
    return RequestInfo(
        accepts_incomplete=accepts_incomplete(req),
        originating_identity=state.originating_identity,
        async_result=state.async_result,
        fault=state.fault,
        version=state.osb_version,
    )


def respond(
    outcome: Outcome, state: RequestState, schema: Schema, accepted: Schema | None = None
) -> Response:
    """The answer for ``outcome``, with only the fields the answered version defines.

    The shaping is a filter that cannot fail, so what was written (a binding, say) is
    always answered in a form the platform's version can read: a 2.13 client never
    gets a 201 it cannot parse for a binding the broker then holds.
    """
    chosen = accepted if outcome.kind == "accepted" and accepted is not None else schema
    body = chosen.dump(outcome.body)
    if state.osb_version < NEWEST:
        body = answer_fields(state.operation, body, state.osb_version)
    response = json_response(body, STATUS[outcome.kind])
    if outcome.retry_after is not None:
        response.headers["Retry-After"] = str(outcome.retry_after)
    return response


# --- faults -------------------------------------------------------------------------


def _requested_ids(req: Request, state: RequestState) -> tuple[str | None, str | None]:
    service_id = req.args.get("service_id")
    plan_id = req.args.get("plan_id")
    if req.method in ("PUT", "PATCH"):
        body = parsed_body(req, state)
        if body is UNPARSABLE:
            body = {}
        if isinstance(body, dict):
            service_id = body.get("service_id") if isinstance(body.get("service_id"), str) else None
            plan_id = body.get("plan_id") if isinstance(body.get("plan_id"), str) else None
    return service_id, plan_id


def _target(rt: Runtime, req: Request, state: RequestState) -> RequestTarget:
    """What the request is about; its service and plan are worked out only if a rule asks."""
    instance_id, binding_id = state.instance_id, state.binding_id

    def lookup() -> tuple[str | None, str | None]:
        service_id, plan_id = _requested_ids(req, state)
        if service_id is not None and plan_id is not None:
            return service_id, plan_id
        record: Any = None
        if binding_id is not None:
            record = rt.store.get_binding(binding_id)
        if record is None and instance_id is not None:
            record = rt.store.get_instance(instance_id)
        if record is None:
            return service_id, plan_id
        return service_id or record.service_id, plan_id or record.plan_id

    return RequestTarget(state.operation or "unknown", instance_id, binding_id, None, None, lookup)


def _names(
    service_id: str | None, plan_id: str | None
) -> tuple[tuple[str, str] | None, tuple[str, str] | None]:
    catalogs = current_runtime().catalogs
    service = plan = None
    if plan_id is not None:
        resolved = catalogs.resolve(plan_id)
        if resolved is not None:
            service = (resolved[0].id, resolved[0].name)
            plan = (resolved[1].id, resolved[1].name)
    if service is None and service_id is not None:
        found = catalogs.catalog.service(service_id)
        service = (found.id, found.name) if found else (service_id, service_id)
    if plan is None and plan_id is not None:
        plan = (plan_id, plan_id)
    return service, plan


View = Callable[..., Response]


def osb_operation(view: View) -> Callable[..., Response]:
    """Run a view under the fault rules: before it, instead of it, or after it.

    The view is called as ``view(rt, req, state, **url_values)``: the runtime, the
    request and its :class:`RequestState`, resolved once for the whole request.
    """

    @wraps(view)
    def wrapper(**kwargs: Any) -> Response:
        rt = current_runtime()
        req, state = current()
        fired = rt.faults.choose(_target(rt, req, state), _names) if rt.faults.active else None
        if fired is None:
            return view(rt, req, state, **kwargs)
        rule = fired.rule
        state.fault = rule.id
        action = rule.action
        if rule.phase == "before":
            replaced = replacement(fired)
            if replaced is not None:
                return replaced
        state.async_result = action.async_result
        try:
            response = view(rt, req, state, **kwargs)
        except OSBError as error:
            response = render_osb_error(error)
        if rule.phase == "after":
            replaced = replacement(fired)
            if replaced is not None:
                return replaced
        return apply_response_modifiers(response, action)

    return wrapper


# --- the ten endpoints --------------------------------------------------------------
# Each view receives (rt, req, state) from osb_operation, then its URL values.


def catalog_answer(rt: Runtime, req: Request, state: RequestState) -> Response:
    """GET /v2/catalog's answer; the fast path (:mod:`broker.web.fast_path`) calls it too."""
    current = rt.catalogs.catalog
    body, etag = rt.catalog_bodies.body(current.body, current.etag, state.osb_version)
    # Parsed only when sent: most platforms never send If-None-Match.
    if "HTTP_IF_NONE_MATCH" in req.environ and etag in req.if_none_match:
        response = Response(status=304)
    else:
        response = Response(body, status=200, content_type="application/json")
    # A catalog ETag is hex digits and a version: quoted as set_etag would, minus its checks.
    response.headers["ETag"] = f'"{etag}"'
    return response


catalog = osb.get("/catalog", endpoint="catalog")(osb_operation(catalog_answer))


@osb.put("/service_instances/<instance_id>", endpoint="provision")
@osb_operation
def provision(rt: Runtime, req: Request, state: RequestState, instance_id: str) -> Response:
    body = schemas.load_or_400(PROVISION_REQUEST, json_body(req, state), "provision request")
    outcome = rt.broker.provision(instance_id, body, request_info(req, state))
    return respond(outcome, state, PROVISION_RESPONSE)


@osb.patch("/service_instances/<instance_id>", endpoint="update")
@osb_operation
def update(rt: Runtime, req: Request, state: RequestState, instance_id: str) -> Response:
    body = schemas.load_or_400(UPDATE_REQUEST, json_body(req, state), "update request")
    outcome = rt.broker.update(instance_id, body, request_info(req, state))
    return respond(outcome, state, UPDATE_RESPONSE)


@osb.delete("/service_instances/<instance_id>", endpoint="deprovision")
@osb_operation
def deprovision(rt: Runtime, req: Request, state: RequestState, instance_id: str) -> Response:
    query = schemas.load_or_400(DELETE_QUERY, req.args.to_dict(), "query")
    outcome = rt.broker.deprovision(instance_id, query, request_info(req, state))
    return respond(outcome, state, OPERATION_RESPONSE)


@osb.get("/service_instances/<instance_id>", endpoint="fetch_instance")
@osb_operation
def fetch_instance(rt: Runtime, req: Request, state: RequestState, instance_id: str) -> Response:
    schemas.load_or_400(FETCH_QUERY, req.args.to_dict(), "query")
    outcome = rt.broker.fetch_instance(instance_id)
    return respond(outcome, state, FETCH_INSTANCE_RESPONSE)


@osb.get("/service_instances/<instance_id>/last_operation", endpoint="last_operation")
@osb_operation
def last_operation(rt: Runtime, req: Request, state: RequestState, instance_id: str) -> Response:
    query = schemas.load_or_400(LAST_OPERATION_QUERY, req.args.to_dict(), "query")
    outcome = rt.broker.last_operation(instance_id, query.get("operation"), state.osb_version)
    return respond(outcome, state, LAST_OPERATION_RESPONSE)


@osb.put("/service_instances/<instance_id>/service_bindings/<binding_id>", endpoint="bind")
@osb_operation
def bind(
    rt: Runtime, req: Request, state: RequestState, instance_id: str, binding_id: str
) -> Response:
    body = schemas.load_or_400(BIND_REQUEST, json_body(req, state), "bind request")
    outcome = rt.broker.bind(instance_id, binding_id, body, request_info(req, state))
    return respond(outcome, state, BIND_RESPONSE, accepted=OPERATION_RESPONSE)


@osb.delete("/service_instances/<instance_id>/service_bindings/<binding_id>", endpoint="unbind")
@osb_operation
def unbind(
    rt: Runtime, req: Request, state: RequestState, instance_id: str, binding_id: str
) -> Response:
    schemas.load_or_400(DELETE_QUERY, req.args.to_dict(), "query")
    outcome = rt.broker.unbind(instance_id, binding_id, request_info(req, state))
    return respond(outcome, state, OPERATION_RESPONSE)


@osb.get("/service_instances/<instance_id>/service_bindings/<binding_id>", endpoint="fetch_binding")
@osb_operation
def fetch_binding(
    rt: Runtime, req: Request, state: RequestState, instance_id: str, binding_id: str
) -> Response:
    schemas.load_or_400(FETCH_QUERY, req.args.to_dict(), "query")
    outcome = rt.broker.fetch_binding(instance_id, binding_id)
    return respond(outcome, state, FETCH_BINDING_RESPONSE)


@osb.get(
    "/service_instances/<instance_id>/service_bindings/<binding_id>/last_operation",
    endpoint="binding_last_operation",
)
@osb_operation
def binding_last_operation(
    rt: Runtime, req: Request, state: RequestState, instance_id: str, binding_id: str
) -> Response:
    query = schemas.load_or_400(LAST_OPERATION_QUERY, req.args.to_dict(), "query")
    outcome = rt.broker.binding_last_operation(
        instance_id, binding_id, query.get("operation"), state.osb_version
    )
    return respond(outcome, state, LAST_OPERATION_RESPONSE)
