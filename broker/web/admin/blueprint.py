"""The ``/admin`` blueprint, its hooks, and how its views read a request body."""

from __future__ import annotations

from typing import Any

import yaml
from flask import Blueprint, Response, request

from broker.decoding import DecodingError, decode_json, decode_yaml
from broker.osb.errors import BadRequest
from broker.web.journal import record_request
from broker.web.request_state import current
from broker.web.runtime import current_runtime

__all__ = ["admin", "object_body", "request_body"]

admin = Blueprint("admin", __name__, url_prefix="/admin")

YAML_TYPES = frozenset({"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"})


@admin.after_request
def journal_admin_requests(response: Response) -> Response:
    if current_runtime().settings.journal_admin:
        return record_request(response)
    return response


@admin.before_request
def follow_other_processes() -> None:
    current()[1].operation = "admin"
    current_runtime().sync()


def request_body(required: bool = True) -> Any:
    raw = request.get_data(cache=True)
    if not raw.strip():
        if required:
            raise BadRequest("request body is required")
        return {}
    if request.mimetype in YAML_TYPES:
        try:
            return decode_yaml(raw)
        except yaml.YAMLError as exc:
            raise BadRequest(f"request body is not valid YAML: {exc}") from None
        except (DecodingError, UnicodeDecodeError) as exc:
            raise BadRequest(f"request body {exc}") from None
    try:
        return decode_json(raw)
    except DecodingError as exc:
        raise BadRequest(f"request body {exc}") from None


def object_body(required: bool = True) -> dict[str, Any]:
    body = request_body(required)
    if not isinstance(body, dict):
        raise BadRequest(f"request body must be a JSON object, got {type(body).__name__}")
    return body
