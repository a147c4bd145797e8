"""The ``/admin`` paths of the OpenAPI document, from the admin schemas."""

from __future__ import annotations

from typing import Any

from apispec import APISpec

from broker.web.openapi_parts import json_content


def admin_paths(spec: APISpec) -> None:
    from broker.web.admin import schemas as admin
    from broker.web.admin.recorded_requests import JournalQuerySchema

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
    error = {"description": "Invalid request", **json_content("Error")}
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
                "requestBody": {"required": False, **json_content("Reset")},
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
                    "200": {"description": "A page of what is stored", **json_content("State")},
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
                    "200": {"description": "Matching requests", **json_content("Journal")},
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
                    "200": {
                        "description": "Fault rules with counters",
                        **json_content("FaultList"),
                    },
                    "400": error,
                },
            },
            "post": {
                "operationId": "admin_add_fault",
                "tags": tags,
                "requestBody": {"required": True, **json_content("FaultRule")},
                "responses": {
                    "201": {"description": "Rule added", **json_content("FaultCreated")},
                    "400": error,
                },
            },
            "delete": {
                "operationId": "admin_delete_faults",
                "tags": tags,
                "summary": "Delete the rules added at run time (?origin=catalog|all for more)",
                "parameters": origin(),
                "responses": {
                    "200": {"description": "Rules deleted", **json_content("FaultsDeleted")},
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
                    "200": {"description": "The rule", **json_content("FaultRule")},
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
        "name": "operation_id",
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
                    "200": {
                        "description": "Operations, oldest first",
                        **json_content("OperationList"),
                    },
                    "400": error,
                },
            }
        },
    )
    spec.path(
        path="/admin/operations/{operation_id}",
        operations={
            "get": {
                "operationId": "admin_operation",
                "tags": tags,
                "parameters": [operation_id],
                "responses": {
                    "200": {"description": "The operation", **json_content("Operation")},
                    "404": error,
                },
            },
            "post": {
                "operationId": "admin_finish_operation",
                "tags": tags,
                "parameters": [operation_id],
                "summary": "Finish a running (e.g. manual) asynchronous operation",
                "requestBody": {"required": True, **json_content("Finish")},
                "responses": {
                    "200": {"description": "Finished", **json_content("Operation")},
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
                    "200": {"description": "Accepted", **json_content("CatalogAccepted")},
                    "400": error,
                },
            },
            "get": {
                "operationId": "admin_catalog",
                "tags": tags,
                "responses": {
                    "200": {"description": "The catalog being served", **json_content("Catalog")}
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
