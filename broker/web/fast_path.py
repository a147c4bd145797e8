"""``GET /v2/catalog`` without Flask's per-request machinery, answered the same way.

Platforms ask for the catalog far more often than for anything else, and a catalog
answer is bytes the broker already holds: Flask's request context, URL matching,
hook dispatch and teardown cost more than the answer itself. :class:`CatalogFastPath`
is a WSGI dispatcher in front of the Flask application's ``wsgi_app``. For a plain
``GET /v2/catalog`` it calls the very steps the Flask hooks call, in their order:
naming the operation, :func:`~broker.web.request_context.begin_request` (request
id, credentials), :func:`~broker.web.osb_steps.check_request` (version header,
originating identity, the platform checks), the view
(:func:`~broker.web.osb_api.catalog_answer`), then
:func:`~broker.web.osb_steps.answered` (metrics, journal, platform checks),
:func:`~broker.web.request_context.finish_request` (identity echo, log line) and
:func:`~broker.web.request_context.end_request`.

Everything else goes to Flask, untouched. So does a catalog request the fast path
would answer differently in any way: one with a body, or one a check refuses (401,
412, 400: the checks change nothing, so Flask runs them again and answers the
error as always), or while a fault rule concerns the catalog (Flask's
:func:`~broker.web.osb_api.osb_operation` applies it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask

from broker.web.osb_api import catalog_answer
from broker.web.osb_steps import answered, check_request, name_request
from broker.web.request_context import begin_request, end_request, finish_request
from broker.web.request_state import ENVIRON_KEY, state_of
from broker.web.runtime import runtime_of

__all__ = ["CatalogFastPath", "install_fast_path"]

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
PATH = "/v2/catalog"
ENDPOINT = "osb.catalog"


class _ToFlask(Exception):
    """The request is Flask's to answer after all."""


class CatalogFastPath:
    """The WSGI application in front of Flask's: see the module's docstring."""

    def __init__(self, app: Flask, flask_wsgi_app: WsgiApp) -> None:
        self.flask_wsgi_app = flask_wsgi_app
        self.rt = runtime_of(app)
        self.request_class = app.request_class
        self.rule = next(iter(app.url_map.iter_rules(ENDPOINT)))

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if (
            environ.get("PATH_INFO") != PATH
            or environ.get("REQUEST_METHOD") != "GET"
            or environ.get("CONTENT_LENGTH") not in (None, "", "0")
            or "HTTP_TRANSFER_ENCODING" in environ
        ):
            return self.flask_wsgi_app(environ, start_response)
        rt = self.rt
        req = self.request_class(environ)
        req.url_rule, req.view_args = self.rule, {}
        state = state_of(req)
        try:
            name_request(state, ENDPOINT, req.view_args)
            begin_request(rt, req, state)
            check_request(rt, req, state)
            if rt.faults.concern("catalog"):
                raise _ToFlask
            response = catalog_answer(rt, req, state)
        except Exception:  # none of these steps changed anything: Flask starts over
            end_request(state)
            del environ[ENVIRON_KEY]
            return self.flask_wsgi_app(environ, start_response)
        try:
            answered(rt, req, state, response)
            finish_request(req, state, response)
            return response(environ, start_response)
        finally:
            end_request(state)


def install_fast_path(app: Flask) -> None:
    """Put the catalog's fast path in front of ``app``'s own WSGI application."""
    app.wsgi_app = CatalogFastPath(app, app.wsgi_app)  # type: ignore[method-assign]
