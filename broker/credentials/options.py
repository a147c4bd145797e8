"""Catalog options of credential backends, checked with marshmallow schemas.

Each backend declares its ``credentials.options`` as a schema; :func:`schema_problems`
turns validation errors into the ``(key path, message)`` pairs the catalog loader
reports. :class:`ServerOptions` holds what every backend of a real server accepts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import RAISE, Schema, fields, validate

from broker.catalog.problems import flatten_messages
from broker.credentials.naming import PREFIX_PATTERN

__all__ = ["Port", "ServerOptions", "schema_problems"]

UNKNOWN = "Unknown field."


class Port(fields.Integer):
    """A TCP port: a whole number from 1 to 65535 (not a boolean, not a string)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, validate=validate.Range(min=1, max=65535), **kwargs)


class ServerOptions(Schema):
    """Options of a backend that creates accounts on a real server."""

    class Meta:
        unknown = RAISE

    # Host and port written into credentials (default: the public host/port settings,
    # else the admin URL's).
    host = fields.String(validate=validate.Length(min=1))
    port = Port()
    # Start of every database, account and key prefix the backend creates.
    name_prefix = fields.String(
        validate=validate.Regexp(
            PREFIX_PATTERN,
            error="must be 1-16 lowercase letters, digits or _, starting with a letter",
        )
    )


def schema_problems(schema: Schema, options: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(key path, message)`` for everything ``schema`` rejects in ``options``."""
    known = ", ".join(sorted(schema.fields))
    problems = []
    for path, message in flatten_messages(schema.validate(dict(options))):
        if message == UNKNOWN:
            message = f"unknown option (known: {known})"
        problems.append((path, message))
    return problems
