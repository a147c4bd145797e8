"""Pieces every path of the OpenAPI document uses: headers, parameters, error answers."""

from __future__ import annotations

from typing import Any

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


def json_content(schema: str | dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def query_parameters(*names: str, required: bool = False) -> list[dict[str, Any]]:
    return [
        {"name": name, "in": "query", "required": required, "schema": {"type": "string"}}
        for name in names
    ]


def responses_of(
    success: dict[str, tuple[str, str]], extra: tuple[str, ...] = ()
) -> dict[str, Any]:
    responses: dict[str, Any] = {
        code: {"description": text, **json_content(schema)}
        for code, (text, schema) in success.items()
    }
    for code in ("400", "401", "412", *extra):
        responses[code] = {
            "description": ERRORS.get(code, "See the OSB specification"),
            **json_content("Error"),
        }
    return responses
