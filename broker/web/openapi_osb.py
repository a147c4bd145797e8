"""The ``/v2`` paths of the OpenAPI document, from the OSB schemas."""

from __future__ import annotations

from apispec import APISpec

from broker.web.openapi_parts import (
    ACCEPTS_INCOMPLETE,
    BINDING_ID,
    IDENTITY_HEADERS,
    INSTANCE_ID,
    VERSION_HEADER,
    json_content,
    query_parameters,
    responses_of,
)

# The endpoints OSB 2.14 added (broker.osb.versions.check_endpoint_defined).
SINCE_2_14 = (
    "Defined from OSB 2.14: a request answered as an older version gets 404 NotFound, "
    "as from a broker of that version."
)


def osb_paths(spec: APISpec) -> None:
    common = [VERSION_HEADER, *IDENTITY_HEADERS]
    spec.path(
        path="/v2/catalog",
        operations={
            "get": {
                "operationId": "catalog",
                "tags": ["OSB"],
                "parameters": common,
                "responses": responses_of({"200": ("The catalog", "Catalog")}),
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
                "requestBody": {"required": True, **json_content("ProvisionRequest")},
                "responses": responses_of(
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
                "requestBody": {"required": True, **json_content("UpdateRequest")},
                "responses": responses_of(
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
                    *query_parameters("service_id", "plan_id", required=True),
                ],
                "responses": responses_of(
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
                "description": SINCE_2_14,
                "parameters": [*common, INSTANCE_ID, *query_parameters("service_id", "plan_id")],
                "responses": responses_of(
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
                "parameters": [
                    *common,
                    INSTANCE_ID,
                    *query_parameters("service_id", "plan_id", "operation"),
                ],
                "responses": responses_of(
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
                "requestBody": {"required": True, **json_content("BindRequest")},
                "responses": responses_of(
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
                    *query_parameters("service_id", "plan_id", required=True),
                ],
                "responses": responses_of(
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
                "description": SINCE_2_14,
                "parameters": [
                    *common,
                    INSTANCE_ID,
                    BINDING_ID,
                    *query_parameters("service_id", "plan_id"),
                ],
                "responses": responses_of(
                    {"200": ("The binding", "FetchBindingResponse")}, ("404",)
                ),
            },
        },
    )
    spec.path(
        path="/v2/service_instances/{instance_id}/service_bindings/{binding_id}/last_operation",
        operations={
            "get": {
                "operationId": "binding_last_operation",
                "tags": ["OSB"],
                "description": SINCE_2_14,
                "parameters": [
                    *common,
                    INSTANCE_ID,
                    BINDING_ID,
                    *query_parameters("service_id", "plan_id", "operation"),
                ],
                "responses": responses_of(
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
