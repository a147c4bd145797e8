"""Nothing answers without credentials, except the two health probes.

``/v2`` endpoints check OSB credentials themselves (their answers must follow OSB
ordering: 401 before 412); a ``/v2`` path that matches no endpoint (404, 405) is
checked here, against the OSB credentials. Everything else (``/admin``,
``/dashboard``, ``/metrics``, ``/openapi.json``, and any unknown path) needs the
admin credentials; ``/openapi.json`` also accepts OSB credentials.

A browser that logged in to the dashboard keeps the admin credentials and would
send them along with a form another site posts to ``/admin`` (the admin API reads
JSON whatever the content type). So a state-changing request that a browser marks
as coming from another site (``Sec-Fetch-Site``) is refused with 403; the
dashboard's own calls are same-origin, and non-browser clients send no such header.
"""

from __future__ import annotations

from flask import Flask, request

from broker.osb.errors import Forbidden, Unauthorized
from broker.runtime import runtime

__all__ = ["PUBLIC_PATHS", "register_guard"]

PUBLIC_PATHS = frozenset({"/livez", "/readyz"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# "none" is a request the user made directly (typed address, bookmark).
OWN_SITE = frozenset({"same-origin", "none"})


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
            site = request.headers.get("Sec-Fetch-Site")
            if request.method not in SAFE_METHODS and site is not None and site not in OWN_SITE:
                raise Forbidden(
                    f"{request.method} {path} from a page of another site "
                    f"(Sec-Fetch-Site: {site}) is refused; call the admin API directly"
                )
            return
        if path == "/openapi.json" and rt.osb_auth.accepts(header):
            return
        raise Unauthorized(
            "missing or wrong admin credentials",
            headers={"WWW-Authenticate": rt.admin_auth.challenge},
        )
