"""``/openapi.json``: the HTTP surface described from the same marshmallow schemas."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Response

from broker import __version__
from broker.osb import schemas
from broker.platform_checks.admin_api import findings_paths

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


def _json(schema: str | dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _query(*names: str, required: bool = False) -> list[dict[str, Any]]:
    return [
        {"name": name, "in": "query", "required": required, "schema": {"type": "string"}}
        for name in names
    ]


def _responses(success: dict[str, tuple[str, str]], extra: tuple[str, ...] = ()) -> dict[str, Any]:
    responses: dict[str, Any] = {
        code: {"description": text, **_json(schema)} for code, (text, schema) in success.items()
    }
    for code in ("400", "401", "412", *extra):
        responses[code] = {
            "description": ERRORS.get(code, "See the OSB specification"),
            **_json("Error"),
        }
    return responses


def _osb_paths(spec: APISpec) -> None:
    common = [VERSION_HEADER, *IDENTITY_HEADERS]
    spec.path(
        path="/v2/catalog",
        operations={
            "get": {
                "operationId": "catalog",
                "tags": ["OSB"],
                "parameters": common,
                "responses": _responses({"200": ("The catalog", "Catalog")}),
            }
        },
    )
    spec.path(
        path="/v2/service_instances/{instance_id}",
        operations={
            "put": {
                "operationId": "provision",
                "tags": ["OSB"],
                "parameters": [*common, INSTANCE_ID, ACCEPTS_INCOMPLETE],
                "requestBody": {"required": True, **_json("ProvisionRequest")},
                "responses": _responses(
                    {
                        "200": ("Identical instance exists", "ProvisionResponse"),
                        "201": ("Provisioned", "ProvisionResponse"),
                        "202": ("Provisioning in progress", "ProvisionResponse"),
                    },
                    ("409", "422"),
                ),
            },
            "patch": {
                "operationId": "update",
                "tags": ["OSB"],
                "parameters": [*common, INSTANCE_ID, ACCEPTS_INCOMPLETE],
                "requestBody": {"required": True, **_json("UpdateRequest")},
                "responses": _responses(
                    {
                        "200": ("Updated", "UpdateResponse"),
                        "202": ("Update in progress", "UpdateResponse"),
                    },
                    ("404", "422"),
                ),
            },
            "delete": {
                "operationId": "deprovision",
                "tags": ["OSB"],
                "parameters": [
                    *common,
                    INSTANCE_ID,
                    ACCEPTS_INCOMPLETE,
                    *_query("service_id", "plan_id", required=True),
                ],
                "responses": _responses(
                    {
                        "200": ("Deprovisioned", "OperationResponse"),
                        "202": ("Deprovisioning", "OperationResponse"),
                    },
                    ("410", "422"),
                ),
            },
            "get": {
                "operationId": "fetch_instance",
                "tags": ["OSB"],
                "parameters": [*common, INSTANCE_ID, *_query("service_id", "plan_id")],
                "responses": _responses(
                    {"200": ("The instance", "FetchInstanceResponse")}, ("404", "422")
                ),
            },
        },
    )
    spec.path(
        path="/v2/service_instances/{instance_id}/last_operation",
        operations={
            "get": {
                "operationId": "last_operation",
                "tags": ["OSB"],
                "parameters": [*common, INSTANCE_ID, *_query("service_id", "plan_id", "operation")],
                "responses": _responses(
                    {"200": ("Operation state", "LastOperation")}, ("404", "410")
                ),
            }
        },
    )
    spec.path(
        path="/v2/service_instances/{instance_id}/service_bindings/{binding_id}",
        operations={
            "put": {
                "operationId": "bind",
                "tags": ["OSB"],
                "parameters": [*common, INSTANCE_ID, BINDING_ID, ACCEPTS_INCOMPLETE],
                "requestBody": {"required": True, **_json("BindRequest")},
                "responses": _responses(
                    {
                        "200": ("Identical binding exists", "BindResponse"),
                        "201": ("Bound", "BindResponse"),
                        "202": ("Binding in progress", "OperationResponse"),
                    },
                    ("404", "409", "422"),
                ),
            },
            "delete": {
                "operationId": "unbind",
                "tags": ["OSB"],
                "parameters": [
                    *common,
                    INSTANCE_ID,
                    BINDING_ID,
                    ACCEPTS_INCOMPLETE,
                    *_query("service_id", "plan_id", required=True),
                ],
                "responses": _responses(
                    {
                        "200": ("Unbound", "OperationResponse"),
                        "202": ("Unbinding", "OperationResponse"),
                    },
                    ("410", "422"),
                ),
            },
            "get": {
                "operationId": "fetch_binding",
                "tags": ["OSB"],
                "parameters": [*common, INSTANCE_ID, BINDING_ID, *_query("service_id", "plan_id")],
                "responses": _responses({"200": ("The binding", "FetchBindingResponse")}, ("404",)),
            },
        },
    )
    spec.path(
        path="/v2/service_instances/{instance_id}/service_bindings/{binding_id}/last_operation",
        operations={
            "get": {
                "operationId": "binding_last_operation",
                "tags": ["OSB"],
                "parameters": [
                    *common,
                    INSTANCE_ID,
                    BINDING_ID,
                    *_query("service_id", "plan_id", "operation"),
                ],
                "responses": _responses(
                    {"200": ("Operation state", "LastOperation")}, ("404", "410")
                ),
            }
        },
    )
    spec.path(
        path="/livez",
        operations={
            "get": {
                "operationId": "livez",
                "tags": ["Health"],
                "security": [],
                "responses": {"200": {"description": "The process answers"}},
            }
        },
    )
    spec.path(
        path="/readyz",
        operations={
            "get": {
                "operationId": "readyz",
                "tags": ["Health"],
                "summary": "ok or unavailable; what was checked, with the admin credentials",
                "security": [],
                "responses": {
                    "200": {"description": "Ready"},
                    "503": {"description": "Store (or its disk) or a backend unavailable"},
                },
            }
        },
    )


def _admin_paths(spec: APISpec) -> None:
    from broker.web import admin_schemas as admin
    from broker.web.admin import JournalQuerySchema

    for name, schema in (
        # Nested schemas first, so the containers refer to these names.
        ("Instance", admin.InstanceStateSchema),
        ("Binding", admin.BindingStateSchema),
        ("Operation", admin.OperationStateSchema),
        ("JournalEntry", admin.JournalEntrySchema),
        ("FaultRule", admin.FaultRuleViewSchema),
        ("Reset", admin.ResetSchema),
        ("State", admin.StateSchema),
        ("OperationList", admin.OperationListSchema),
        ("Journal", admin.JournalSchema),
        ("FaultList", admin.FaultListSchema),
        ("FaultCreated", admin.FaultCreatedSchema),
        ("FaultsDeleted", admin.FaultsDeletedSchema),
        ("Finish", admin.FinishSchema),
        ("CatalogAccepted", admin.CatalogAcceptedSchema),
    ):
        spec.components.schema(name, schema=schema)
    tags = ["Admin"]
    error = {"description": "Invalid request", **_json("Error")}
    journal_parameters = [
        {"in": "query", "schema": JournalQuerySchema},
    ]
    paging = [
        {
            "name": "limit",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 1000},
            "description": "Records per page",
        },
        {
            "name": "cursor",
            "in": "query",
            "schema": {"type": "string"},
            "description": "The `next` of the previous page",
        },
    ]
    show_credentials = {
        "name": "credentials",
        "in": "query",
        "schema": {"type": "boolean"},
        "description": "Show credentials and secret parameters unredacted",
    }
    spec.path(
        path="/admin/reset",
        operations={
            "post": {
                "operationId": "admin_reset",
                "tags": tags,
                "summary": "Forget state, fault rules, runtime catalogs (and the journal)",
                "requestBody": {"required": False, **_json("Reset")},
                "responses": {"200": {"description": "Reset done"}},
            }
        },
    )
    spec.path(
        path="/admin/state",
        operations={
            "get": {
                "operationId": "admin_state",
                "tags": tags,
                "summary": "What is stored, a page of each kind; `next` while there is more",
                "parameters": [show_credentials, *paging],
                "responses": {
                    "200": {"description": "A page of what is stored", **_json("State")},
                    "400": error,
                },
            }
        },
    )
    spec.path(
        path="/admin/requests",
        operations={
            "get": {
                "operationId": "admin_requests",
                "tags": tags,
                "summary": "The request journal, oldest first; wait=S long-polls",
                "parameters": journal_parameters,
                "responses": {
                    "200": {"description": "Matching requests", **_json("Journal")},
                    "400": error,
                },
            },
            "delete": {
                "operationId": "admin_clear_requests",
                "tags": tags,
                "responses": {"200": {"description": "Journal cleared"}},
            },
        },
    )
    spec.path(
        path="/admin/requests.jsonl",
        operations={
            "get": {
                "operationId": "admin_requests_jsonl",
                "tags": tags,
                "parameters": journal_parameters,
                "responses": {
                    "200": {
                        "description": "One JSON object per line",
                        "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
    )

    def origin() -> list[dict[str, Any]]:
        # A list apispec expands in place: one per operation.
        return [{"in": "query", "schema": admin.FaultOriginSchema}]

    spec.path(
        path="/admin/faults",
        operations={
            "get": {
                "operationId": "admin_faults",
                "tags": tags,
                "summary": "Fault rules with counters and origin (admin or catalog)",
                "parameters": origin(),
                "responses": {
                    "200": {"description": "Fault rules with counters", **_json("FaultList")},
                    "400": error,
                },
            },
            "post": {
                "operationId": "admin_add_fault",
                "tags": tags,
                "requestBody": {"required": True, **_json("FaultRule")},
                "responses": {
                    "201": {"description": "Rule added", **_json("FaultCreated")},
                    "400": error,
                },
            },
            "delete": {
                "operationId": "admin_delete_faults",
                "tags": tags,
                "summary": "Delete the rules added at run time (?origin=catalog|all for more)",
                "parameters": origin(),
                "responses": {
                    "200": {"description": "Rules deleted", **_json("FaultsDeleted")},
                    "400": error,
                },
            },
        },
    )
    rule_id = {"name": "rule_id", "in": "path", "required": True, "schema": {"type": "string"}}
    spec.path(
        path="/admin/faults/{rule_id}",
        operations={
            "get": {
                "operationId": "admin_fault",
                "tags": tags,
                "parameters": [rule_id],
                "responses": {
                    "200": {"description": "The rule", **_json("FaultRule")},
                    "404": error,
                },
            },
            "delete": {
                "operationId": "admin_delete_fault",
                "tags": tags,
                "parameters": [rule_id],
                "responses": {"200": {"description": "Deleted"}, "404": error},
            },
        },
    )
    operation_id = {
        "name": "operation",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
    }
    spec.path(
        path="/admin/operations",
        operations={
            "get": {
                "operationId": "admin_operations",
                "tags": tags,
                "summary": "The newest operations, oldest first; `next` pages back",
                "parameters": [
                    {
                        "name": "state",
                        "in": "query",
                        "schema": {
                            "type": "string",
                            "enum": ["in progress", "succeeded", "failed"],
                        },
                    },
                    show_credentials,
                    *paging,
                ],
                "responses": {
                    "200": {"description": "Operations, oldest first", **_json("OperationList")},
                    "400": error,
                },
            }
        },
    )
    spec.path(
        path="/admin/operations/{operation}",
        operations={
            "get": {
                "operationId": "admin_operation",
                "tags": tags,
                "parameters": [operation_id],
                "responses": {
                    "200": {"description": "The operation", **_json("Operation")},
                    "404": error,
                },
            },
            "post": {
                "operationId": "admin_finish_operation",
                "tags": tags,
                "parameters": [operation_id],
                "summary": "Finish a running (e.g. manual) asynchronous operation",
                "requestBody": {"required": True, **_json("Finish")},
                "responses": {
                    "200": {"description": "Finished", **_json("Operation")},
                    "404": error,
                    "409": error,
                },
            },
        },
    )
    spec.path(
        path="/admin/catalog",
        operations={
            "put": {
                "operationId": "admin_put_catalog",
                "tags": tags,
                "summary": "Replace the catalog (JSON or YAML, checked like catalog files)",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"type": "object"}},
                        "application/yaml": {"schema": {"type": "string"}},
                    },
                },
                "responses": {
                    "200": {"description": "Accepted", **_json("CatalogAccepted")},
                    "400": error,
                },
            },
            "get": {
                "operationId": "admin_catalog",
                "tags": tags,
                "responses": {
                    "200": {"description": "The catalog being served", **_json("Catalog")}
                },
            },
        },
    )
    spec.path(
        path="/metrics",
        operations={
            "get": {
                "operationId": "metrics",
                "tags": ["Health"],
                "responses": {
                    "200": {
                        "description": "Prometheus text format",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
    )


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
    _admin_paths(spec)
    findings_paths(spec)
    document = spec.to_dict()
    document["security"] = [{"basic": []}, {"bearer": []}]
    return document


@cache
def _openapi_json() -> str:
    """The document as served; it depends on nothing that changes, so it is built once."""
    return json.dumps(build_openapi(), separators=(",", ":"))


@openapi.get("/openapi.json")
def openapi_json() -> Response:
    return Response(_openapi_json(), status=200, mimetype="application/json")
