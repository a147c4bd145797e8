"""``/livez`` (the process answers), ``/readyz`` (it can serve: store and backends), ``/metrics``.

Both answer without credentials, and say no more than that: ``/readyz`` is ``ok``
(200) or ``unavailable`` (503). What was checked, and why a check failed (store
paths, database errors), goes only to a caller with the admin credentials.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from broker.credentials.base import BackendError
from broker.storage.base import StoreUnavailable
from broker.web.errors import json_response
from broker.web.runtime import current_runtime

__all__ = ["health"]

health = Blueprint("health", __name__)


@health.get("/livez")
def livez() -> Response:
    return json_response({"status": "ok"}, 200)


@health.get("/readyz")
def readyz() -> Response:
    rt = current_runtime()
    checks: dict[str, Any] = {}
    ready = True
    try:
        rt.store.check()
        checks["store"] = "ok"
    except StoreUnavailable as exc:
        checks["store"] = str(exc)
        ready = False
    used = sorted({plan.knobs.credentials.backend for plan in rt.catalogs.catalog.plans})
    for name in used:
        try:
            rt.backends.get(name).check()
            checks[f"backend:{name}"] = "ok"
        except BackendError as exc:
            checks[f"backend:{name}"] = str(exc)
            ready = False
    checks["catalog"] = f"{len(rt.catalogs.catalog)} services"
    body: dict[str, Any] = {"status": "ok" if ready else "unavailable"}
    if rt.admin_auth.accepts(request.environ.get("HTTP_AUTHORIZATION")):
        body["checks"] = checks
    return json_response(body, 200 if ready else 503)


@health.get("/metrics")
def metrics() -> Response:
    """Prometheus metrics (admin credentials: the guard asks for them)."""
    return Response(
        current_runtime().metrics.render(), status=200, mimetype="text/plain; version=0.0.4"
    )
