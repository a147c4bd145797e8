"""``/openapi.json``: the HTTP surface described from the same marshmallow schemas."""

from __future__ import annotations

from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Response

from broker import __version__
from broker.osb import schemas
from broker.web.errors import json_response

__all__ = ["build_openapi", "openapi"]

openapi = Blueprint("openapi", __name__)

ERRORS = {
    "400": "Malformed request or invalid data",
    "401": "Missing or wrong credentials",
    "412": "X-Broker-API-Version missing or unsupported",
    "422": "AsyncRequired, ConcurrencyError, RequiresApp, MaintenanceInfoConflict, ...",
}
VERSION_HEADER = {
    "name": "X-Broker-API-Version",
    "in": "header",
    "required": True,
    "schema": {"type": "string", "example": "2.17"},
}
IDENTITY_HEADERS = [
    {
        "name": "X-Broker-API-Originating-Identity",
        "in": "header",
        "schema": {"type": "string"},
        "description": "'<platform> <base64 JSON object>'",
    },
    {
        "name": "X-Broker-API-Request-Identity",
        "in": "header",
        "schema": {"type": "string"},
        "description": "Echoed in the response",
    },
]
INSTANCE_ID = {"name": "instance_id", "in": "path", "required": True, "schema": {"type": "string"}}
BINDING_ID = {"name": "binding_id", "in": "path", "required": True, "schema": {"type": "string"}}
ACCEPTS_INCOMPLETE = {"name": "accepts_incomplete", "in": "query", "schema": {"type": "boolean"}}

# Extra path builders (the admin API adds its paths here at import of its module).
EXTRA_PATHS: list[Any] = []


def _query(*names: str, required: bool = False) -> list[dict[str, Any]]:
    return [{"name": name, "in": "query", "required": required, "schema": {"type": "string"}} for name in names]


def _responses(success: dict[str, tuple[str, str]], extra: tuple[str, ...] = ()) -> dict[str, Any]:
    responses: dict[str, Any] = {
        code: {
            "description": text,
            "content": {"application/json": {"schema": schema}},
        }
        for code, (text, schema) in success.items()
    }
    for code in ("400", "401", "412", *extra):
        responses[code] = {
            "description": ERRORS.get(code, "See the OSB specification"),
            "content": {"application/json": {"schema": "Error"}},
        }
    return responses


def _osb_paths(spec: APISpec) -> None:
    common = [VERSION_HEADER, *IDENTITY_HEADERS]
    spec.path(
        path="/v2/catalog",
        operations={"get": {"operationId": "catalog", "tags": ["OSB"], "parameters": common,
                            "responses": _responses({"200": ("The catalog", "Catalog")})}},
    )
    spec.path(
        path="/v2/service_instances/{instance_id}",
        operations={
            "put": {
                "operationId": "provision", "tags": ["OSB"],
                "parameters": [*common, INSTANCE_ID, ACCEPTS_INCOMPLETE],
                "requestBody": {"required": True, "content": {"application/json": {"schema": "ProvisionRequest"}}},
                "responses": _responses(
                    {"200": ("Identical instance exists", "ProvisionResponse"),
                     "201": ("Provisioned", "ProvisionResponse"),
                     "202": ("Provisioning in progress", "ProvisionResponse")},
                    ("409", "422"),
                ),
            },
            "patch": {
                "operationId": "update", "tags": ["OSB"],
                "parameters": [*common, INSTANCE_ID, ACCEPTS_INCOMPLETE],
                "requestBody": {"required": True, "content": {"application/json": {"schema": "UpdateRequest"}}},
                "responses": _responses(
                    {"200": ("Updated", "UpdateResponse"), "202": ("Update in progress", "UpdateResponse")},
                    ("404", "422"),
                ),
            },
            "delete": {
                "operationId": "deprovision", "tags": ["OSB"],
                "parameters": [*common, INSTANCE_ID, ACCEPTS_INCOMPLETE, *_query("service_id", "plan_id", required=True)],
                "responses": _responses(
                    {"200": ("Deprovisioned", "OperationResponse"), "202": ("Deprovisioning", "OperationResponse")},
                    ("410", "422"),
                ),
            },
            "get": {
                "operationId": "fetch_instance", "tags": ["OSB"],
                "parameters": [*common, INSTANCE_ID, *_query("service_id", "plan_id")],
                "responses": _responses({"200": ("The instance", "FetchInstanceResponse")}, ("404", "422")),
            },
        },
    )
    spec.path(
        path="/v2/service_instances/{instance_id}/last_operation",
        operations={"get": {
            "operationId": "last_operation", "tags": ["OSB"],
            "parameters": [*common, INSTANCE_ID, *_query("service_id", "plan_id", "operation")],
            "responses": _responses({"200": ("Operation state", "LastOperation")}, ("404", "410")),
        }},
    )
    spec.path(
        path="/v2/service_instances/{instance_id}/service_bindings/{binding_id}",
        operations={
            "put": {
                "operationId": "bind", "tags": ["OSB"],
                "parameters": [*common, INSTANCE_ID, BINDING_ID, ACCEPTS_INCOMPLETE],
                "requestBody": {"required": True, "content": {"application/json": {"schema": "BindRequest"}}},
                "responses": _responses(
                    {"200": ("Identical binding exists", "BindResponse"), "201": ("Bound", "BindResponse"),
                     "202": ("Binding in progress", "OperationResponse")},
                    ("404", "409", "422"),
                ),
            },
            "delete": {
                "operationId": "unbind", "tags": ["OSB"],
                "parameters": [*common, INSTANCE_ID, BINDING_ID, ACCEPTS_INCOMPLETE,
                               *_query("service_id", "plan_id", required=True)],
                "responses": _responses(
                    {"200": ("Unbound", "OperationResponse"), "202": ("Unbinding", "OperationResponse")},
                    ("410", "422"),
                ),
            },
            "get": {
                "operationId": "fetch_binding", "tags": ["OSB"],
                "parameters": [*common, INSTANCE_ID, BINDING_ID, *_query("service_id", "plan_id")],
                "responses": _responses({"200": ("The binding", "FetchBindingResponse")}, ("404",)),
            },
        },
    )
    spec.path(
        path="/v2/service_instances/{instance_id}/service_bindings/{binding_id}/last_operation",
        operations={"get": {
            "operationId": "binding_last_operation", "tags": ["OSB"],
            "parameters": [*common, INSTANCE_ID, BINDING_ID, *_query("service_id", "plan_id", "operation")],
            "responses": _responses({"200": ("Operation state", "LastOperation")}, ("404", "410")),
        }},
    )
    spec.path(path="/livez", operations={"get": {"operationId": "livez", "tags": ["Health"], "security": [],
                                                 "responses": {"200": {"description": "The process answers"}}}})
    spec.path(path="/readyz", operations={"get": {"operationId": "readyz", "tags": ["Health"], "security": [],
                                                  "responses": {"200": {"description": "Ready"},
                                                                "503": {"description": "Store or backend unavailable"}}}})


def build_openapi() -> dict[str, Any]:
    spec = APISpec(
        title="mockbroker",
        version=__version__,
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": "A mock Open Service Broker API (2.13-2.17) server for testing."},
    )
    spec.components.security_scheme("basic", {"type": "http", "scheme": "basic"})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    named = {
        "Error": schemas.ErrorSchema,
        "Catalog": schemas.CatalogSchema,
        "ProvisionRequest": schemas.ProvisionRequestSchema,
        "ProvisionResponse": schemas.ProvisionResponseSchema,
        "UpdateRequest": schemas.UpdateRequestSchema,
        "UpdateResponse": schemas.UpdateResponseSchema,
        "OperationResponse": schemas.OperationResponseSchema,
        "LastOperation": schemas.LastOperationSchema,
        "BindRequest": schemas.BindRequestSchema,
        "BindResponse": schemas.BindResponseSchema,
        "FetchInstanceResponse": schemas.FetchInstanceResponseSchema,
        "FetchBindingResponse": schemas.FetchBindingResponseSchema,
    }
    for name, schema in named.items():
        spec.components.schema(name, schema=schema)
    _osb_paths(spec)
    for add_paths in EXTRA_PATHS:
        add_paths(spec)
    document = spec.to_dict()
    document["security"] = [{"basic": []}, {"bearer": []}]
    return document


@openapi.get("/openapi.json")
def openapi_json() -> Response:
    return json_response(build_openapi(), 200)
