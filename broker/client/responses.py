"""The answers of the ten OSB endpoints as small dataclasses, and their shape checks.

Every answer keeps its status code, the raw parsed body, the response headers and
the Retry-After header in seconds; the fields OSB defines for the endpoint are
parsed out of the body by an explicit marshmallow schema. Unknown fields are
ignored (receivers MUST ignore them); a field of the wrong type makes the answer
malformed.

:class:`CatalogResponse` was called ``Catalog``, the name of the broker's own catalog
model (:class:`broker.catalog.model.Catalog`); the old name still imports, with a
:class:`DeprecationWarning`, until the next release.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields

from broker.client.json_decoding import decode_json
from broker.deprecations import warn_renamed
from broker.suggestions import did_you_mean
from broker.validation_messages import describe_messages

__all__ = [
    "Answer",
    "BindResponse",
    "BindingDetails",
    "CatalogResponse",
    "InstanceDetails",
    "InstanceResponse",
    "LastOperation",
    "OperationResponse",
    "ShapeError",
    "parse_body",
    "parse_retry_after",
]


def __getattr__(name: str) -> Any:
    """``Catalog``, the former name of :class:`CatalogResponse`, with a warning."""
    if name == "Catalog":
        warn_renamed(f"{__name__}.Catalog", "broker.client.CatalogResponse")
        return CatalogResponse
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class ShapeError(ValueError):
    """The body does not have the shape OSB defines; the message says where."""


# --- schemas of the success bodies --------------------------------------------------


class _Body(Schema):
    class Meta:
        unknown = EXCLUDE


class _CatalogPlan(_Body):
    id = fields.String(required=True)
    name = fields.String(required=True)


class _CatalogService(_Body):
    id = fields.String(required=True)
    name = fields.String(required=True)
    plans = fields.List(fields.Nested(_CatalogPlan), required=True)


class CatalogBody(_Body):
    services = fields.List(fields.Nested(_CatalogService), required=True)


class InstanceBody(_Body):
    dashboard_url = fields.String(allow_none=True)
    operation = fields.String(allow_none=True)
    metadata = fields.Dict(allow_none=True)


class OperationBody(_Body):
    operation = fields.String(allow_none=True)


class BindBody(_Body):
    credentials = fields.Dict(allow_none=True)
    syslog_drain_url = fields.String(allow_none=True)
    route_service_url = fields.String(allow_none=True)
    volume_mounts = fields.List(fields.Dict(), allow_none=True)
    endpoints = fields.List(fields.Dict(), allow_none=True)
    metadata = fields.Dict(allow_none=True)
    operation = fields.String(allow_none=True)


class BindingDetailsBody(BindBody):
    parameters = fields.Dict(allow_none=True)


class InstanceDetailsBody(_Body):
    service_id = fields.String(allow_none=True)
    plan_id = fields.String(allow_none=True)
    dashboard_url = fields.String(allow_none=True)
    parameters = fields.Dict(allow_none=True)
    maintenance_info = fields.Dict(allow_none=True)
    metadata = fields.Dict(allow_none=True)


class LastOperationBody(_Body):
    # Any string: a platform decides what to do with a state outside the three.
    state = fields.String(required=True)
    description = fields.String(allow_none=True)
    instance_usable = fields.Boolean(allow_none=True)
    update_repeatable = fields.Boolean(allow_none=True)


def parse_body(schema: Schema, body: Any) -> dict[str, Any]:
    """Load ``body`` with ``schema`` or raise :class:`ShapeError` naming the bad fields."""
    if not isinstance(body, dict):
        raise ShapeError(f"expected a JSON object, got {type(body).__name__}")
    try:
        loaded: dict[str, Any] = schema.load(body)
    except ValidationError as exc:
        raise ShapeError(describe_messages(exc.messages)) from None
    return loaded


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


# --- the answers -----------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """What every answer carries."""

    status: int
    body: Any
    headers: Mapping[str, str] = field(repr=False)
    retry_after: float | None

    @property
    def is_async(self) -> bool:
        """The broker accepted the request and works on it (202)."""
        return self.status == 202


@dataclass(frozen=True)
class CatalogResponse(Answer):
    """Answer to ``GET /v2/catalog`` (200): every service with all its fields."""

    services: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of_checked_body(
        cls, status: int, content: bytes, headers: Mapping[str, str], retry_after: float | None
    ) -> CatalogResponse:
        """The answer of a body already found to be a catalog (the same bytes were
        checked): :attr:`body` and :attr:`services` are decoded from ``content`` when
        first read. Equal to the answer built from the decoded body, and as independent
        of every other answer (the objects are its own)."""
        answer = cls.__new__(cls)
        state = answer.__dict__
        state["status"] = status
        state["headers"] = headers
        state["retry_after"] = retry_after
        state["_content"] = content
        return answer

    if not TYPE_CHECKING:  # for the type checker, body and services are plain fields

        def __getattr__(self, name: str) -> Any:
            # Only called for what the instance lacks: body and services not decoded yet.
            content = self.__dict__.get("_content")
            if content is None or name not in ("body", "services"):
                raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
            state = self.__dict__
            # setdefault: two threads reading it at once see the same objects.
            body = state.setdefault("body", decode_json(content))
            state.setdefault("services", list(body["services"]))
            return state[name]

    def plan(self, service: str, plan: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """(service, plan) objects by name or id.

        :class:`LookupError` if absent, naming the closest service or plan name.
        """
        offerings = [o for o in self.services if service in (o.get("name"), o.get("id"))]
        for offering in offerings:
            for candidate in offering.get("plans") or []:
                if plan in (candidate.get("name"), candidate.get("id")):
                    return offering, candidate
        if not offerings:
            names = [str(o.get("name")) for o in self.services]
            raise LookupError(
                f"the catalog has no service {service!r}{did_you_mean(service, names)} "
                f"(services: {', '.join(names) or 'none'})"
            )
        plans = [str(p.get("name")) for o in offerings for p in o.get("plans") or []]
        raise LookupError(
            f"service {service!r} has no plan {plan!r}{did_you_mean(plan, plans)} "
            f"(plans: {', '.join(plans) or 'none'})"
        )


@dataclass(frozen=True)
class InstanceResponse(Answer):
    """Answer to a provision (200, 201, 202) or an update (200, 202)."""

    dashboard_url: str | None = None
    operation: str | None = None
    metadata: dict[str, Any] | None = None


@dataclass(frozen=True)
class OperationResponse(Answer):
    """Answer to a deprovision or an unbind (200, 202, 410)."""

    operation: str | None = None

    @property
    def gone(self) -> bool:
        """The resource did not exist (410): for a delete, as good as done."""
        return self.status == 410


@dataclass(frozen=True)
class BindResponse(Answer):
    """Answer to a bind (200, 201, 202)."""

    credentials: dict[str, Any] | None = None
    syslog_drain_url: str | None = None
    route_service_url: str | None = None
    volume_mounts: list[dict[str, Any]] | None = None
    endpoints: list[dict[str, Any]] | None = None
    metadata: dict[str, Any] | None = None
    operation: str | None = None


@dataclass(frozen=True)
class BindingDetails(BindResponse):
    """Answer to GET of a binding (200)."""

    parameters: dict[str, Any] | None = None


@dataclass(frozen=True)
class InstanceDetails(Answer):
    """Answer to GET of an instance (200)."""

    service_id: str | None = None
    plan_id: str | None = None
    dashboard_url: str | None = None
    parameters: dict[str, Any] | None = None
    maintenance_info: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None


@dataclass(frozen=True)
class LastOperation(Answer):
    """Answer to a last_operation poll (200)."""

    state: str = ""
    description: str | None = None
    instance_usable: bool | None = None
    update_repeatable: bool | None = None

    @property
    def finished(self) -> bool:
        return self.state in ("succeeded", "failed")
