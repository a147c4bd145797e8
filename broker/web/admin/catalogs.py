"""``/admin/catalog``: the catalog served, and a new one sent."""

from __future__ import annotations

from flask import Response

from broker.catalog.problems import CatalogError
from broker.web.admin.blueprint import admin, request_body
from broker.web.errors import json_response
from broker.web.runtime import current_runtime


@admin.put("/catalog")
def put_catalog() -> Response:
    rt = current_runtime()
    document = request_body()
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
    counts = rt.store.counts()
    in_use = {plan_id for _, plan_id in [*counts.instances, *counts.bindings]}
    rt.store.catalog_set(rt.catalogs.documents_after_push(document, catalog, in_use))
    rt.sync()
    plans = sum(len(service.plans) for service in catalog.services)
    return json_response({"services": len(catalog.services), "plans": plans}, 200)


@admin.get("/catalog")
def get_catalog() -> Response:
    current = current_runtime().catalogs.catalog
    return Response(current.body, status=200, mimetype="application/json")
