"""Marshmallow schemas of the OSB catalog fields as catalog authors write them.

They check types and the rules of OSB 2.17 section "Catalog Management"; the
loader keeps the author's mapping itself (not the schema's output) so every field
reaches ``GET /v2/catalog`` unchanged. Keys starting with ``x-`` are vendor
extensions and pass through; any other unknown key is reported, because in a
hand-written catalog it is almost always a typo (``plan_updatable``).
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import ValidationError, fields, pre_load, validate, validates_schema

from broker.catalog.authoring import Choice, StrictSchema

__all__ = ["CatalogFileSchema", "ServiceSchema", "PlanSchema", "SEMVER"]

# Semantic Versioning 2.0.0, the official regular expression.
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)

REQUIRES = ("syslog_drain", "route_forwarding", "volume_mount")


class StrictBoolean(fields.Boolean):
    """Only real YAML/JSON booleans: ``"yes"`` in quotes is a string, not true."""

    truthy = {True}
    falsy = {False}

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        # 1 == True in Python, so the truthy/falsy sets alone let 1 and 0.0 through.
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class NonEmptyString(fields.String):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(validate=validate.Length(min=1, error="must not be empty"), **kwargs)


class _AuthoringSchema(StrictSchema):
    # A misspelt key gets a suggestion; any other unknown key this reminder.
    unknown_hint = " (vendor extensions must start with 'x-')"

    @pre_load
    def _vendor_extensions(self, data: Any, **_: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {
            key: value
            for key, value in data.items()
            if not (isinstance(key, str) and key.startswith("x-"))
        }


class MaintenanceInfoSchema(_AuthoringSchema):
    version = fields.String(required=True)
    description = fields.String()

    @validates_schema
    def _semver(self, data: dict[str, Any], **_: Any) -> None:
        version = data.get("version")
        if isinstance(version, str) and not SEMVER.match(version):
            raise ValidationError(
                f"{version!r} is not a Semantic Versioning 2.0 version (quote it in YAML: "
                "'1.10.0')",
                "version",
            )


class DashboardClientSchema(_AuthoringSchema):
    id = NonEmptyString(required=True)
    secret = NonEmptyString(required=True)
    redirect_uri = fields.String(allow_none=True)


class ParametersHolderSchema(_AuthoringSchema):
    # The JSON Schema itself is checked by the loader (draft, size, refs).
    parameters = fields.Dict(required=True)


class InstanceSchemasSchema(_AuthoringSchema):
    create = fields.Nested(ParametersHolderSchema)
    update = fields.Nested(ParametersHolderSchema)


class BindingSchemasSchema(_AuthoringSchema):
    create = fields.Nested(ParametersHolderSchema)


class PlanSchemasSchema(_AuthoringSchema):
    service_instance = fields.Nested(InstanceSchemasSchema)
    service_binding = fields.Nested(BindingSchemasSchema)


class PlanSchema(_AuthoringSchema):
    id = NonEmptyString()
    name = NonEmptyString(required=True)
    description = NonEmptyString(required=True)
    metadata = fields.Dict(allow_none=True)
    free = StrictBoolean()
    bindable = StrictBoolean()
    binding_rotatable = StrictBoolean()
    plan_updateable = StrictBoolean()
    schemas = fields.Nested(PlanSchemasSchema)
    maximum_polling_duration = fields.Integer(
        strict=True, validate=validate.Range(min=1, error="must be a positive number of seconds")
    )
    maintenance_info = fields.Nested(MaintenanceInfoSchema)
    mockbroker = fields.Dict()


class ServiceSchema(_AuthoringSchema):
    id = NonEmptyString()
    name = NonEmptyString(required=True)
    description = NonEmptyString(required=True)
    tags = fields.List(fields.String())
    requires = fields.List(fields.String(validate=Choice(REQUIRES)))
    bindable = StrictBoolean(required=True)
    instances_retrievable = StrictBoolean()
    bindings_retrievable = StrictBoolean()
    allow_context_updates = StrictBoolean()
    metadata = fields.Dict(allow_none=True)
    dashboard_client = fields.Nested(DashboardClientSchema)
    plan_updateable = StrictBoolean()
    plans = fields.List(
        fields.Nested(PlanSchema),
        required=True,
        validate=validate.Length(min=1, error="a service needs at least one plan"),
    )
    mockbroker = fields.Dict()


class CatalogFileSchema(_AuthoringSchema):
    services = fields.List(fields.Nested(ServiceSchema), required=True)
    mockbroker = fields.Dict()
