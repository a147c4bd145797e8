"""``/openapi.json``: the HTTP surface described from the same marshmallow schemas."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from flask import Blueprint, Response

from broker.version import __version__

__all__ = ["build_openapi", "openapi"]

openapi = Blueprint("openapi", __name__)


def build_openapi() -> dict[str, Any]:
    # apispec and the path descriptions are imported on the first request for the
    # document: a broker that is never asked for it does not pay for them at start.
    from apispec import APISpec
    from apispec.ext.marshmallow import MarshmallowPlugin

    from broker.osb import schemas
    from broker.platform_checks.admin_api import findings_paths
    from broker.web.openapi_admin import admin_paths
    from broker.web.openapi_osb import osb_paths

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
    osb_paths(spec)
    admin_paths(spec)
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
