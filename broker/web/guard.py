"""Nothing answers without credentials, except the two health probes.

Every ``/v2`` path, whether or not it matches an endpoint, needs the OSB
credentials; this check runs before the OSB blueprint's own request checks, so a
401 comes before a 412 as OSB orders them. Everything else (``/admin``,
``/dashboard``, ``/metrics``, ``/openapi.json``, and any unknown path) needs the
admin credentials; ``/openapi.json`` also accepts OSB credentials.

A browser that logged in to the dashboard keeps the admin credentials and would
send them along with a form another site posts to ``/admin`` (the admin API reads
JSON whatever the content type). So a state-changing request that a browser marks
as coming from another site (``Sec-Fetch-Site``) is refused with 403; the
dashboard's own calls are same-origin, and non-browser clients send no such header.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Request

from broker.osb.errors import Forbidden, Unauthorized

if TYPE_CHECKING:
    from broker.runtime import Runtime

__all__ = ["PUBLIC_PATHS", "require_credentials"]

PUBLIC_PATHS = frozenset({"/livez", "/readyz"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# "none" is a request the user made directly (typed address, bookmark).
OWN_SITE = frozenset({"same-origin", "none"})


def require_credentials(req: Request, rt: Runtime) -> None:
    """Part of the application's before-request hook (:mod:`broker.web.request_context`)."""
    path = req.path
    if path in PUBLIC_PATHS:
        return
    header = req.environ.get("HTTP_AUTHORIZATION")
    if path == "/v2" or path.startswith("/v2/"):
        if rt.osb_auth.accepts(header):
            return
        raise Unauthorized(
            "missing or wrong credentials",
            headers={"WWW-Authenticate": rt.osb_auth.challenge},
        )
    if rt.admin_auth.accepts(header):
        site = req.environ.get("HTTP_SEC_FETCH_SITE")
        if req.method not in SAFE_METHODS and site is not None and site not in OWN_SITE:
            raise Forbidden(
                f"{req.method} {path} from a page of another site "
                f"(Sec-Fetch-Site: {site}) is refused; call the admin API directly"
            )
        return
    if path == "/openapi.json" and rt.osb_auth.accepts(header):
        return
    raise Unauthorized(
        "missing or wrong admin credentials",
        headers={"WWW-Authenticate": rt.admin_auth.challenge},
    )
