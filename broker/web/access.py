"""Who may call what: OSB or admin credentials per path, and refusal of cross-site requests.

Nothing answers without credentials, except the two health probes. Every ``/v2``
path, whether or not it matches an endpoint, needs the OSB credentials; this check
runs before the OSB blueprint's own request checks, so a 401 comes before a 412 as
OSB orders them. Everything else (``/admin``, ``/dashboard``, ``/metrics``,
``/openapi.json``, and any unknown path) needs the admin credentials;
``/openapi.json`` also accepts OSB credentials.

A browser that logged in to the dashboard keeps the admin credentials and would
send them along with a form another site posts to ``/admin`` (the admin API reads
JSON whatever the content type). So a state-changing request a browser sends from
another site is refused with 403. Browsers say where a request comes from in up to
three headers, checked in this order, the first one present deciding:

* ``Sec-Fetch-Site`` must be ``same-origin`` or ``none`` (typed by the user);
* else ``Origin`` must be this broker's own origin (the ``Host`` the request was
  sent to, or ``BROKER_PUBLIC_URL``'s), ``null`` never is;
* else ``Referer`` must be a page of that origin.

The dashboard's own calls are same-origin. Non-browser clients (curl, test code,
SDKs) send none of the three, and are not affected.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from flask import Request

from broker.osb.errors import Forbidden, Unauthorized

if TYPE_CHECKING:
    from broker.web.runtime import Runtime

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
        if req.method not in SAFE_METHODS:
            refuse_other_sites(req, rt)
        return
    if path == "/openapi.json" and rt.osb_auth.accepts(header):
        return
    raise Unauthorized(
        "missing or wrong admin credentials",
        headers={"WWW-Authenticate": rt.admin_auth.challenge},
    )


def refuse_other_sites(req: Request, rt: Runtime) -> None:
    """403 for a request a browser sent from a page of another site (see above)."""
    environ = req.environ
    site = environ.get("HTTP_SEC_FETCH_SITE")
    if site is not None:
        if site not in OWN_SITE:
            _refuse(req, f"Sec-Fetch-Site: {site}")
        return
    origin = environ.get("HTTP_ORIGIN")
    if origin is not None:
        if not _own_origin(origin, req, rt):
            _refuse(req, f"Origin: {origin}")
        return
    referer = environ.get("HTTP_REFERER")
    if referer is not None and not _own_origin(referer, req, rt):
        _refuse(req, f"Referer: {referer}")


def _origin(url: str) -> tuple[str, str] | None:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname:
        return None
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None or port == default else f"{host}:{port}"
    return parts.scheme.lower(), netloc


def _own_origin(url: str, req: Request, rt: Runtime) -> bool:
    found = _origin(url)
    if found is None:
        return False
    own = {_origin(f"{req.scheme}://{req.host}")}
    if rt.settings.public_url:
        own.add(_origin(rt.settings.public_url))
    return found in own


def _refuse(req: Request, evidence: str) -> None:
    raise Forbidden(
        f"{req.method} {req.path} from a page of another site ({evidence[:200]}) is refused; "
        "call the admin API directly"
    )
