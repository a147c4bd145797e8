"""Nothing answers without credentials, except the two health probes.

``/v2`` checks OSB credentials itself (its answers must follow OSB ordering:
401 before 412). Everything else (``/admin``, ``/dashboard``, ``/metrics``,
``/openapi.json``, and any unknown path) needs the admin credentials;
``/openapi.json`` also accepts OSB credentials.
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
        if path in PUBLIC_PATHS or path == "/v2" or path.startswith("/v2/"):
            return
        rt = runtime()
        header = request.headers.get("Authorization")
        if rt.admin_auth.accepts(header):
            return
        if path == "/openapi.json" and rt.osb_auth.accepts(header):
            return
        raise Unauthorized(
            "missing or wrong admin credentials",
            headers={"WWW-Authenticate": rt.admin_auth.challenge},
        )
