"""Marshmallow schemas of every OSB request and response body.

Requests use ``unknown = EXCLUDE``: OSB receivers MUST ignore fields they do not
know. Empty strings count as missing for required fields, ``null`` counts as
absent for optional objects. Responses are dumped through their schema, so the
wire format is written down here and in ``/openapi.json``, not implied by code.
"""

from __future__ import annotations

import functools
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate

from broker.catalog.problems import describe_messages
from broker.osb.errors import BadRequest

__all__ = [
    "BindRequestSchema",
    "BindResponseSchema",
    "CatalogSchema",
    "DeleteQuerySchema",
    "ErrorSchema",
    "FetchBindingResponseSchema",
    "FetchInstanceResponseSchema",
    "FetchQuerySchema",
    "LastOperationQuerySchema",
    "LastOperationSchema",
    "OperationResponseSchema",
    "ProvisionRequestSchema",
    "ProvisionResponseSchema",
    "UpdateRequestSchema",
    "UpdateResponseSchema",
    "load_or_400",
]

NON_EMPTY = validate.Length(min=1, error="must not be empty")


def Required() -> fields.String:  # noqa: N802 - reads like a field type
    return fields.String(
        required=True,
        validate=NON_EMPTY,
        error_messages={"required": "is required", "null": "is required"},
    )


def Optional() -> fields.String:  # noqa: N802
    return fields.String(validate=NON_EMPTY)


class _Request(Schema):
    class Meta:
        unknown = EXCLUDE

    @functools.cached_property
    def _required(self) -> frozenset[str]:
        return frozenset(name for name, field in self.fields.items() if field.required)

    @pre_load
    def _nulls_are_absent(self, data: Any, **_: Any) -> Any:
        if isinstance(data, dict):
            required = self._required
            return {
                key: value for key, value in data.items() if value is not None or key in required
            }
        return data


class MaintenanceInfoRequestSchema(_Request):
    version = fields.String()


class ProvisionRequestSchema(_Request):
    service_id = Required()
    plan_id = Required()
    organization_guid = Required()
    space_guid = Required()
    context = fields.Dict()
    parameters = fields.Dict()
    maintenance_info = fields.Nested(MaintenanceInfoRequestSchema)


class PreviousValuesSchema(_Request):
    service_id = fields.String()
    plan_id = fields.String()
    organization_id = fields.String()
    space_id = fields.String()
    maintenance_info = fields.Nested(MaintenanceInfoRequestSchema)


class UpdateRequestSchema(_Request):
    service_id = Required()
    plan_id = Optional()
    context = fields.Dict()
    parameters = fields.Dict()
    previous_values = fields.Nested(PreviousValuesSchema)
    maintenance_info = fields.Nested(MaintenanceInfoRequestSchema)


class BindResourceSchema(_Request):
    app_guid = Optional()
    route = Optional()


class BindRequestSchema(_Request):
    service_id = Required()
    plan_id = Required()
    context = fields.Dict()
    app_guid = Optional()
    bind_resource = fields.Dict()
    parameters = fields.Dict()
    predecessor_binding_id = Optional()


class _Query(Schema):
    class Meta:
        unknown = EXCLUDE


class DeleteQuerySchema(_Query):
    service_id = Required()
    plan_id = Required()


class FetchQuerySchema(_Query):
    service_id = Optional()
    plan_id = Optional()


class LastOperationQuerySchema(_Query):
    service_id = Optional()
    plan_id = Optional()
    operation = Optional()


# --- responses ----------------------------------------------------------------------


class ErrorSchema(Schema):
    error = fields.String(metadata={"description": "One CamelCase word, e.g. AsyncRequired"})
    description = fields.String()
    instance_usable = fields.Boolean()
    update_repeatable = fields.Boolean()
    mockbroker_detail = fields.String(
        metadata={
            "description": "The broker's own detail, next to a description that is the "
            "spec's sample sentence (AsyncRequired, ConcurrencyError, RequiresApp)"
        }
    )


class PlanDocSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True)
    metadata = fields.Dict()
    free = fields.Boolean()
    bindable = fields.Boolean()
    binding_rotatable = fields.Boolean()
    plan_updateable = fields.Boolean()
    schemas = fields.Dict()
    maximum_polling_duration = fields.Integer()
    maintenance_info = fields.Dict()


class ServiceDocSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True)
    tags = fields.List(fields.String())
    requires = fields.List(fields.String())
    bindable = fields.Boolean(required=True)
    instances_retrievable = fields.Boolean()
    bindings_retrievable = fields.Boolean()
    allow_context_updates = fields.Boolean()
    metadata = fields.Dict()
    dashboard_client = fields.Dict()
    plan_updateable = fields.Boolean()
    plans = fields.List(fields.Nested(PlanDocSchema), required=True)


class CatalogSchema(Schema):
    services = fields.List(fields.Nested(ServiceDocSchema), required=True)


class InstanceMetadataSchema(Schema):
    labels = fields.Dict()
    attributes = fields.Dict()


class ProvisionResponseSchema(Schema):
    dashboard_url = fields.String(allow_none=True)
    operation = fields.String()
    metadata = fields.Nested(InstanceMetadataSchema)


class UpdateResponseSchema(ProvisionResponseSchema):
    pass


class OperationResponseSchema(Schema):
    """Body of 202 answers to deprovision, bind and unbind."""

    operation = fields.String()


class LastOperationSchema(Schema):
    state = fields.String(
        required=True, validate=validate.OneOf(("in progress", "succeeded", "failed"))
    )
    description = fields.String()
    instance_usable = fields.Boolean()
    update_repeatable = fields.Boolean()


class BindingMetadataSchema(Schema):
    expires_at = fields.String()
    renew_before = fields.String()


class BindResponseSchema(Schema):
    credentials = fields.Dict()
    syslog_drain_url = fields.String()
    route_service_url = fields.String()
    volume_mounts = fields.List(fields.Dict())
    endpoints = fields.List(fields.Dict())
    metadata = fields.Nested(BindingMetadataSchema)


class FetchBindingResponseSchema(BindResponseSchema):
    parameters = fields.Dict()


class FetchInstanceResponseSchema(Schema):
    service_id = fields.String()
    plan_id = fields.String()
    dashboard_url = fields.String(allow_none=True)
    parameters = fields.Dict()
    maintenance_info = fields.Dict()
    metadata = fields.Nested(InstanceMetadataSchema)


def load_or_400(schema: Schema, data: Any, what: str) -> dict[str, Any]:
    """Load ``data`` or raise :class:`BadRequest` naming every invalid field."""
    try:
        loaded: dict[str, Any] = schema.load(data)
    except ValidationError as exc:
        raise BadRequest(f"invalid {what}: {describe_messages(exc.messages)}") from None
    return loaded
