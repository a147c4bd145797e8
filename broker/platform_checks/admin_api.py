"""``/admin/findings``: what the platform checks found, as JSON or JUnit XML.

Behind the admin credentials like every ``/admin`` route (the credential guard
decides by path). ``GET`` filters by ``rule``, ``level`` (each repeatable or
comma-separated), ``instance_id`` and ``since`` (an ISO 8601 time: findings last
seen at or after it); ``format=junit`` answers JUnit XML. ``DELETE`` forgets them.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, request
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from broker.osb.schemas import load_or_400
from broker.platform_checks.findings_store import FindingsQuery
from broker.platform_checks.rules import LEVELS, RULES
from broker.platform_checks.service import iso_time, platform_checks
from broker.web.errors import json_response

if TYPE_CHECKING:
    from apispec import APISpec

__all__ = ["FindingSchema", "FindingsSchema", "findings_api", "findings_paths"]

findings_api = Blueprint("platform_findings", __name__, url_prefix="/admin")


class TimeField(fields.Field):  # type: ignore[type-arg]
    """An ISO 8601 time with a timezone, as seconds since the epoch."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> float:
        text = str(value).strip()
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError("must be an ISO 8601 time (e.g. 2030-01-01T00:00:00Z)") from None
        if moment.tzinfo is None:
            raise ValidationError("an ISO 8601 time needs a timezone (e.g. Z)")
        return moment.timestamp()


class FindingsQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    rule = fields.List(fields.String(validate=validate.OneOf(sorted(RULES))))
    level = fields.List(fields.String(validate=validate.OneOf(LEVELS)))
    instance_id = fields.String(validate=validate.Length(min=1))
    since = TimeField()
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "junit")))


class SpecSchema(Schema):
    quote = fields.String(required=True)
    section = fields.String(required=True)
    url = fields.String(required=True)
    since = fields.String(required=True, metadata={"description": "First spec version with it"})
    document = fields.String(required=True)


class FindingSchema(Schema):
    rule = fields.String(required=True)
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    summary = fields.String(required=True)
    instance_id = fields.String(allow_none=True, required=True)
    binding_id = fields.String(allow_none=True, required=True)
    request_ids = fields.List(
        fields.Integer(),
        required=True,
        metadata={"description": "Journal ids of the requests that show it (the newest 50)"},
    )
    count = fields.Integer(required=True)
    first_seen = fields.String(required=True)
    last_seen = fields.String(required=True)
    spec = fields.Nested(SpecSchema, required=True)


class FindingsSchema(Schema):
    findings = fields.List(fields.Nested(FindingSchema), required=True)


FINDINGS = FindingsSchema()


def _listed(name: str) -> list[str] | None:
    values = [part.strip() for value in request.args.getlist(name) for part in value.split(",")]
    values = [value for value in values if value]
    return values or None


def _query() -> tuple[FindingsQuery, str]:
    args: dict[str, Any] = request.args.to_dict()
    for name in ("rule", "level"):
        if name in args:
            listed = _listed(name)
            if name == "level" and listed:
                listed = [value.upper().replace("_", " ") for value in listed]
            args[name] = listed or []
    options = load_or_400(FindingsQuerySchema(), args, "findings query")
    query = FindingsQuery(
        rules=tuple(options["rule"]) if options.get("rule") else None,
        levels=tuple(options["level"]) if options.get("level") else None,
        instance_id=options.get("instance_id"),
        since=options.get("since"),
    )
    return query, options["format"]


@findings_api.get("/findings")
def list_findings() -> Response:
    query, answer_format = _query()
    checks = platform_checks()
    found = checks.query(query)
    if answer_format == "junit":
        # Imported on first use: its character-class pattern alone costs a start
        # milliseconds, and few brokers are ever asked for JUnit XML.
        from broker.platform_checks.junit import junit_xml

        checked = [
            rule
            for rule in RULES.values()
            if (query.rules is None or rule.id in query.rules)
            and (query.levels is None or rule.level in query.levels)
        ]
        body = junit_xml(checked, found, iso_time(checks.clock())[:-1])
        return Response(body, status=200, mimetype="application/xml")
    return json_response(FINDINGS.dump({"findings": found}), 200)


@findings_api.delete("/findings")
def clear_findings() -> Response:
    platform_checks().clear()
    return json_response({"cleared": True}, 200)


def findings_paths(spec: APISpec) -> None:
    """The routes above in ``/openapi.json``."""
    spec.components.schema("Finding", schema=FindingSchema)
    spec.components.schema("Findings", schema=FindingsSchema)
    error = {"description": "Invalid request", "content": {"application/json": {"schema": "Error"}}}
    parameters = [
        {
            "name": "rule",
            "in": "query",
            "schema": {"type": "string"},
            "description": "Rule ids, comma-separated or repeated",
        },
        {
            "name": "level",
            "in": "query",
            "schema": {"type": "string", "enum": list(LEVELS)},
            "description": "Levels, comma-separated or repeated",
        },
        {"name": "instance_id", "in": "query", "schema": {"type": "string"}},
        {
            "name": "since",
            "in": "query",
            "schema": {"type": "string", "format": "date-time"},
            "description": "Only findings last seen at or after this time",
        },
        {
            "name": "format",
            "in": "query",
            "schema": {"type": "string", "enum": ["json", "junit"]},
            "description": "junit: JUnit XML, a test case per rule checked",
        },
    ]
    spec.path(
        path="/admin/findings",
        operations={
            "get": {
                "operationId": "admin_findings",
                "tags": ["Admin"],
                "summary": "What the platform checks found: a finding per rule per resource",
                "parameters": parameters,
                "responses": {
                    "200": {
                        "description": "Matching findings (JSON, or JUnit XML with format=junit)",
                        "content": {
                            "application/json": {"schema": "Findings"},
                            "application/xml": {"schema": {"type": "string"}},
                        },
                    },
                    "400": error,
                },
            },
            "delete": {
                "operationId": "admin_clear_findings",
                "tags": ["Admin"],
                "summary": "Forget every finding",
                "responses": {"200": {"description": "Findings cleared"}},
            },
        },
    )
