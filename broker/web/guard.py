"""Nothing answers without credentials, except the two health probes.

``/v2`` endpoints check OSB credentials themselves (their answers must follow OSB
ordering: 401 before 412); a ``/v2`` path that matches no endpoint (404, 405) is
checked here, against the OSB credentials. Everything else (``/admin``,
``/dashboard``, ``/metrics``, ``/openapi.json``, and any unknown path) needs the
admin credentials; ``/openapi.json`` also accepts OSB credentials.
"""

from __future__ import annotations

from flask import Flask, request

from broker.osb.errors import Unauthorized
from broker.runtime import runtime

__all__ = ["PUBLIC_PATHS", "register_guard"]

PUBLIC_PATHS = frozenset({"/livez", "/readyz"})


def register_guard(app: Flask) -> None:
    @app.before_request
    def require_credentials() -> None:
        path = request.path
        if path in PUBLIC_PATHS:
            return
        rt = runtime()
        header = request.headers.get("Authorization")
        if path == "/v2" or path.startswith("/v2/"):
            if request.url_rule is not None or rt.osb_auth.accepts(header):
                return
            raise Unauthorized(
                "missing or wrong credentials",
                headers={"WWW-Authenticate": rt.osb_auth.challenge},
            )
        if rt.admin_auth.accepts(header):
            return
        if path == "/openapi.json" and rt.osb_auth.accepts(header):
            return
        raise Unauthorized(
            "missing or wrong admin credentials",
            headers={"WWW-Authenticate": rt.admin_auth.challenge},
        )
