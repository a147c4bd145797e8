"""The ``mockbroker:`` key: how a plan behaves (broker-only knobs of a file, service or plan).

Knobs never reach ``GET /v2/catalog``. They are declared at three levels and
merged per plan, later levels winning: file defaults < service < plan. Mappings
merge key by key (so a plan can change ``provision.mode`` alone); lists replace.

```yaml
mockbroker:
  provision: {mode: async, finish: {polls: 2}, retry_after: 1}
  bind: {mode: sync}
  credentials: {backend: fake, extra: {key.json: {...}}}
  binding: {syslog_drain_url: "syslog://logs.example.test:514/${binding_id}"}
  faults: [{match: {operation: bind}, trigger: {times: 2}, action: {status: 500}}]
```
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError, fields, validate

from broker.catalog.authoring import Choice, StrictSchema
from broker.catalog.model import (
    OPERATIONS,
    BindingExtras,
    CredentialsConfig,
    Finish,
    Knobs,
    OperationBehaviour,
)
from broker.catalog.osb_fields import StrictBoolean
from broker.suggestions import did_you_mean

__all__ = ["KnobsSchema", "build_knobs", "merge_knobs"]


class _Strict(StrictSchema):
    """A knob schema: an unknown key is a mistake in the catalog, reported at load."""


class FinishField(fields.Field):  # type: ignore[type-arg]
    """``manual``, ``never``, ``{polls: N}`` or ``{seconds: T}``."""

    INVALID = "must be 'manual', 'never', {polls: N} or {seconds: T}"

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Finish:
        if value in ("manual", "never"):
            return Finish(kind=value, amount=0)
        if isinstance(value, Mapping) and len(value) == 1:
            ((kind, amount),) = value.items()
            if kind in ("polls", "seconds") and isinstance(amount, (int, float)):
                if isinstance(amount, bool) or amount < 0:
                    raise ValidationError(f"{kind} must be a number >= 0")
                if kind == "polls" and int(amount) != amount:
                    raise ValidationError("polls must be a whole number")
                return Finish(kind=kind, amount=amount)
            raise ValidationError(self.INVALID + did_you_mean(kind, ("polls", "seconds")))
        raise ValidationError(self.INVALID + did_you_mean(value, ("manual", "never")))


class GoneAfterField(FinishField):
    """``never``, ``{polls: N}`` or ``{seconds: T}`` (``manual`` means nothing here)."""

    INVALID = "must be 'never', {polls: N} or {seconds: T}"

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Finish:
        if value == "manual":
            raise ValidationError(self.INVALID)
        return super()._deserialize(value, attr, data, **kwargs)


class OperationSchema(_Strict):
    mode = fields.String(validate=Choice(("sync", "async", "async-required")))
    finish = FinishField()
    gone_after = GoneAfterField()
    result = fields.String(validate=Choice(("succeeded", "failed")))
    description = fields.String(validate=validate.Length(min=1))
    progress = fields.String(validate=validate.Length(min=1))
    retry_after = fields.Integer(strict=True, validate=validate.Range(min=0))
    status = fields.Integer(strict=True, validate=validate.Range(min=400, max=599))
    error = fields.String(
        validate=validate.Regexp(r"^[A-Z][A-Za-z0-9]*$", error="must be CamelCase")
    )
    instance_usable = StrictBoolean()
    update_repeatable = StrictBoolean()


class CredentialsSchema(_Strict):
    backend = fields.String(validate=validate.Length(min=1))
    options = fields.Dict()
    extra = fields.Dict(keys=fields.String(validate=validate.Length(min=1)))


class VolumeDeviceSchema(_Strict):
    volume_id = fields.String(required=True, validate=validate.Length(min=1))
    mount_config = fields.Dict()


class VolumeMountSchema(_Strict):
    driver = fields.String(required=True, validate=validate.Length(min=1))
    container_dir = fields.String(required=True, validate=validate.Length(min=1))
    mode = fields.String(required=True, validate=Choice(("r", "rw")))
    device_type = fields.String(required=True, validate=Choice(("shared",)))
    device = fields.Nested(VolumeDeviceSchema, required=True)


class EndpointSchema(_Strict):
    host = fields.String(required=True, validate=validate.Length(min=1))
    ports = fields.List(
        fields.String(
            validate=validate.Regexp(r"^\d{1,5}(-\d{1,5})?$", error="must be a port or a range")
        ),
        required=True,
        validate=validate.Length(min=1),
    )
    protocol = fields.String(validate=Choice(("tcp", "udp", "all")))


class BindingSchema(_Strict):
    syslog_drain_url = fields.String(validate=validate.Length(min=1))
    route_service_url = fields.String(validate=validate.Length(min=1))
    volume_mounts = fields.List(fields.Nested(VolumeMountSchema))
    endpoints = fields.List(fields.Nested(EndpointSchema))
    expires_in = fields.Integer(strict=True, validate=validate.Range(min=1))
    renew_before = fields.Integer(strict=True, validate=validate.Range(min=0))


class KnobsSchema(_Strict):
    """One level of knobs; every key optional (levels are merged afterwards)."""

    provision = fields.Nested(OperationSchema)
    update = fields.Nested(OperationSchema)
    deprovision = fields.Nested(OperationSchema)
    bind = fields.Nested(OperationSchema)
    unbind = fields.Nested(OperationSchema)
    dashboard_url = fields.String(allow_none=True)
    credentials = fields.Nested(CredentialsSchema)
    binding = fields.Nested(BindingSchema)
    requires_app = StrictBoolean()
    parameters_on_update = fields.String(validate=Choice(("merge", "replace")))
    instance_metadata = fields.Dict()
    faults = fields.List(fields.Dict())


def merge_knobs(*levels: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge validated knob levels; later levels win, lists replace, faults add up."""
    merged: dict[str, Any] = {}
    for level in levels:
        for key, value in level.items():
            if key == "faults":
                merged["faults"] = [*merged.get("faults", []), *value]
            elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
                merged[key] = _merge_mapping(merged[key], value)
            else:
                merged[key] = value
    return merged


def _merge_mapping(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    result = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), Mapping) and key != "options":
            result[key] = _merge_mapping(result[key], value)
        else:
            result[key] = value
    return result


def build_knobs(merged: Mapping[str, Any]) -> Knobs:
    """Turn merged, validated knob data into the immutable :class:`Knobs`."""
    behaviours = {
        operation: OperationBehaviour(**merged[operation])
        for operation in OPERATIONS
        if operation in merged
    }
    credentials = merged.get("credentials", {})
    binding = dict(merged.get("binding", {}))
    for key in ("volume_mounts", "endpoints"):
        if key in binding:
            binding[key] = tuple(binding[key])
    return Knobs(
        **behaviours,
        dashboard_url=merged.get("dashboard_url"),
        credentials=CredentialsConfig(
            backend=credentials.get("backend", "fake"),
            options=credentials.get("options", {}),
            extra=credentials.get("extra", {}),
        ),
        binding=BindingExtras(**binding),
        requires_app=merged.get("requires_app", False),
        parameters_on_update=merged.get("parameters_on_update", "merge"),
        instance_metadata=merged.get("instance_metadata", {}),
        faults=tuple(merged.get("faults", ())),
    )
