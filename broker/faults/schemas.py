"""Fault rules as written: the schemas a rule is checked with, in catalogs and ``/admin/faults``.

The same object is written in catalog YAML (under a plan's or service's
``mockbroker.faults``, where ``match.service``/``match.plan`` are implied) and
posted to ``POST /admin/faults``::

    {"match":   {"operation": "bind", "service": "name-or-id", "plan": "name-or-id",
                 "instance_id": "...", "binding_id": "..."},
     "trigger": {"times": 2},
     "action":  {"status": 500, "error": "SomeCode", "description": "..."}}

What each part means is :mod:`broker.faults.rules`, where a checked rule becomes a
typed :class:`~broker.faults.rules.FaultRule`.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any, ClassVar

from marshmallow import (
    ValidationError,
    fields,
    pre_load,
    validate,
    validates_schema,
)

from broker.catalog.authoring import Choice, StrictSchema
from broker.catalog.problems import flatten_messages
from broker.faults.shorthand import FAULT_OPERATIONS, unknown_key_message
from broker.suggestions import did_you_mean

__all__ = [
    "ActionSchema",
    "FaultRuleSchema",
    "MatchSchema",
    "TriggerSchema",
    "fault_rule_problems",
    "parse_fault_rule",
]

# A header value as HTTP carries it: visible ASCII and Latin-1, spaces and tabs, no
# control characters (a rule is checked when it is written, not when it breaks an answer).
HEADER_VALUE = validate.Regexp(
    r"^[\t\x20-\x7e\xa0-\xff]{0,200}\Z",
    error="must be at most 200 visible Latin-1 characters, without control characters",
)
# Rule ids are path segments of /admin/faults/<id>.
RULE_ID = validate.Regexp(
    r"^[^/\x00-\x1f\x7f-\x9f]{1,200}\Z",
    error="must be 1 to 200 characters, without '/' or control characters",
)


class OperationsField(fields.Field):  # type: ignore[type-arg]
    default_error_messages = {
        "invalid": f"must be one of {', '.join(FAULT_OPERATIONS)} or a list of them",
    }

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> list[str]:
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not values:
            raise self.make_error("invalid")
        unknown = [item for item in values if item not in FAULT_OPERATIONS]
        if unknown:
            raise ValidationError(
                [
                    f"unknown operation {item!r}{did_you_mean(item, FAULT_OPERATIONS)} "
                    f"(known: {', '.join(FAULT_OPERATIONS)})"
                    for item in unknown
                ]
            )
        return list(dict.fromkeys(values))

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        return value


class _Part(StrictSchema):
    """A rule, or a part of one: a key that belongs in another part says which one.

    ``match: {times: 2}`` is told "belongs under 'trigger'", ``match: {opration:
    bind}`` "did you mean 'operation'?".
    """

    # "match", "trigger" or "action"; None: the rule itself.
    section: ClassVar[str | None] = None

    def handle_error(self, error: ValidationError, data: Any, *, many: bool, **kwargs: Any) -> None:
        if isinstance(error.messages, dict) and isinstance(data, Mapping):
            for key in list(error.messages):
                if isinstance(key, str) and key in data and key not in self.fields:
                    error.messages[key] = [unknown_key_message(key, self.section, self.fields)]
        super().handle_error(error, data, many=many, **kwargs)
        raise error


class MatchSchema(_Part):
    section = "match"
    operation = OperationsField()
    service = fields.String(validate=validate.Length(min=1))
    plan = fields.String(validate=validate.Length(min=1))
    instance_id = fields.String(validate=validate.Length(min=1))
    binding_id = fields.String(validate=validate.Length(min=1))


class TriggerSchema(_Part):
    section = "trigger"
    times = fields.Integer(strict=True, validate=validate.Range(min=1))
    nth = fields.Integer(strict=True, validate=validate.Range(min=1))
    after = fields.Integer(strict=True, validate=validate.Range(min=0))
    probability = fields.Float(validate=validate.Range(min=0, max=1))
    seed = fields.Raw()

    @validates_schema
    def _one_kind(self, data: dict[str, Any], **_: Any) -> None:
        kinds = [key for key in ("times", "nth", "after", "probability") if key in data]
        if len(kinds) > 1:
            raise ValidationError(
                f"use one of times, nth, after, probability (got {', '.join(kinds)})"
            )
        if "seed" in data and "probability" not in data:
            raise ValidationError("seed only applies to probability", "seed")
        if not kinds and data:
            raise ValidationError("give times, nth, after or probability")


class ActionSchema(_Part):
    section = "action"
    status = fields.Integer(strict=True, validate=validate.Range(min=100, max=599))
    error = fields.String(
        validate=validate.Regexp(r"^[A-Z][A-Za-z0-9]*$", error="must be one CamelCase word")
    )
    description = fields.String(validate=validate.Length(min=1))
    instance_usable = fields.Boolean(truthy={True}, falsy={False})
    update_repeatable = fields.Boolean(truthy={True}, falsy={False})
    delay_ms = fields.Integer(strict=True, validate=validate.Range(min=0, max=600_000))
    body = fields.Raw()
    content_type = fields.String(validate=HEADER_VALUE)
    drop_connection = fields.Boolean(truthy={True}, falsy={False})
    hang = fields.Boolean(truthy={True}, falsy={False})
    async_result = fields.String(validate=Choice(("failed", "never")))
    phase = fields.String(validate=Choice(("before", "after")))

    @validates_schema
    def _consistent(self, data: dict[str, Any], **_: Any) -> None:
        body = data.get("body")
        if (
            body is not None
            and body not in ("malformed", "empty")
            and not isinstance(body, (dict, list))
        ):
            raise ValidationError("must be 'malformed', 'empty' or a JSON object", "body")
        if data.get("hang") and data.get("drop_connection"):
            raise ValidationError("choose hang or drop_connection, not both")
        if not data:
            raise ValidationError("an action needs at least one effect")


class FaultRuleSchema(_Part):
    id = fields.String(validate=RULE_ID)
    description = fields.String()
    match = fields.Nested(MatchSchema, load_default=dict)
    trigger = fields.Nested(TriggerSchema, load_default=dict)
    action = fields.Nested(ActionSchema, required=True)

    @pre_load
    def _drop_counters(self, data: Any, **_: Any) -> Any:
        # GET /admin/faults shows counters; accept such an object posted back.
        if isinstance(data, dict):
            return {
                key: value for key, value in data.items() if key not in ("calls", "fired", "origin")
            }
        return data


@cache
def _rule_schema() -> FaultRuleSchema:
    # Made once: making one copies the fields of every nested schema, which costs
    # more than checking a rule (catalogs check one per rule they declare).
    return FaultRuleSchema()


def parse_fault_rule(data: Any) -> dict[str, Any]:
    """Validate a rule; raise :class:`marshmallow.ValidationError` with field paths."""
    if not isinstance(data, dict):
        raise ValidationError("a fault rule must be a JSON object")
    loaded: dict[str, Any] = _rule_schema().load(data)
    return loaded


def fault_rule_problems(data: Mapping[str, Any], path: str) -> list[tuple[str, str]]:
    """``(path, message)`` problems of a rule written in a catalog."""
    try:
        rule = parse_fault_rule(dict(data))
    except ValidationError as exc:
        return flatten_messages(exc.messages, path)
    problems = []
    for key in ("service", "plan"):
        if key in rule["match"]:
            problems.append(
                (f"{path}.match.{key}", "implied by where the rule is written; leave it out")
            )
    return problems
