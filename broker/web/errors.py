"""The one place where exceptions become HTTP answers, always OSB-shaped JSON."""

from __future__ import annotations

import json
import logging

import orjson
from flask import Flask, Response, has_request_context, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from broker.osb.errors import OSBError, PayloadTooLarge
from broker.osb.versions import error_fields
from broker.storage.base import StoreUnavailable
from broker.web.request_state import state_of

__all__ = ["encode_json", "json_response", "register_error_handlers"]

log = logging.getLogger("broker.web")


def encode_json(body: object) -> bytes:
    """Compact JSON (UTF-8) by orjson; what it cannot encode (integers beyond 64 bits,
    keys that are not strings) by the standard library, with the same result."""
    try:
        return orjson.dumps(body)
    except TypeError:
        return json.dumps(body, separators=(",", ":")).encode()


def json_response(body: object, status: int, headers: dict[str, str] | None = None) -> Response:
    response = Response(encode_json(body), status=status, mimetype="application/json")
    if headers:
        response.headers.update(headers)
    return response


def render_osb_error(error: OSBError) -> Response:
    """The error's OSB body, as the OSB version the request is answered as defines it."""
    body = error.body()
    if has_request_context():
        body = error_fields(error.status_code, body, state_of(request).osb_version)
    return json_response(body, error.status_code, error.headers)


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(OSBError, render_osb_error)

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_: RequestEntityTooLarge) -> Response:
        limit = app.config.get("MAX_CONTENT_LENGTH")
        return render_osb_error(PayloadTooLarge(f"request body is larger than {limit} bytes"))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        code = error.code or 500
        name = "".join(part.capitalize() for part in (error.name or "Error").split())
        response = json_response({"error": name, "description": error.description}, code)
        if code == 405 and error.get_response().headers.get("Allow"):
            response.headers["Allow"] = error.get_response().headers["Allow"]
        return response

    @app.errorhandler(StoreUnavailable)
    def store_unavailable(error: StoreUnavailable) -> Response:
        # The reason names the database: logged and shown by /readyz (to the admin
        # credentials), not sent here.
        log.error("state store unavailable: %s", error)
        return json_response(
            {
                "error": "StoreUnavailable",
                "description": "the broker's state store is unavailable; retry later "
                "(GET /readyz with the admin credentials says why)",
            },
            503,
            {"Retry-After": "1"},
        )

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        log.exception("unhandled error: %s", type(error).__name__)
        return json_response(
            {"error": "InternalError", "description": f"the broker failed: {type(error).__name__}"},
            500,
        )
