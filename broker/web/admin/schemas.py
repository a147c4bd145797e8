"""Marshmallow schemas of the admin API: its requests, and the records it returns."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, fields, pre_dump, validate

from broker.faults.schemas import FaultRuleSchema
from broker.logs import utc_iso_milliseconds

__all__ = [
    "BindingStateSchema",
    "CatalogAcceptedSchema",
    "FaultCreatedSchema",
    "FaultOriginSchema",
    "FaultRuleViewSchema",
    "FinishSchema",
    "InstanceStateSchema",
    "JournalEntrySchema",
    "OperationListSchema",
    "OperationStateSchema",
    "ResetSchema",
    "StateSchema",
]


class ResetSchema(Schema):
    class Meta:
        unknown = RAISE

    keep_journal = fields.Boolean(
        load_default=False, metadata={"description": "Keep the request journal"}
    )


class FinishSchema(Schema):
    class Meta:
        unknown = RAISE

    state = fields.String(required=True, validate=validate.OneOf(("succeeded", "failed")))
    description = fields.String(validate=validate.Length(min=1))


class IsoTime(fields.DateTime):
    """A time kept as seconds since the epoch, shown as the journal shows times."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else utc_iso_milliseconds(float(value))


def _old_id(new: str) -> fields.String:
    return fields.String(
        metadata={
            "deprecated": True,
            "description": f"The same as {new}; kept for one release, read {new} instead",
        }
    )


class _NamedId(Schema):
    """A record whose ``id`` is shown under the journal's name for it (``id_name``)."""

    id_name = ""

    @pre_dump
    def _name_the_id(self, record: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {self.id_name: record["id"], **record}


class InstanceStateSchema(_NamedId):
    id_name = "instance_id"
    instance_id = fields.String()
    id = _old_id("instance_id")
    service_id = fields.String()
    plan_id = fields.String()
    state = fields.String(
        metadata={"enum": ["provisioning", "ready", "updating", "deprovisioning", "failed"]}
    )
    fingerprint = fields.String()
    created_at = IsoTime()
    updated_at = IsoTime()
    organization_guid = fields.String(allow_none=True)
    space_guid = fields.String(allow_none=True)
    context = fields.Dict()
    parameters = fields.Dict()
    maintenance_info = fields.Dict(allow_none=True)
    dashboard_url = fields.String(allow_none=True)
    metadata = fields.Dict(allow_none=True)
    originating_identity = fields.Dict(allow_none=True)
    backend_state = fields.Dict(allow_none=True)
    operation = fields.String(allow_none=True)


class BindingStateSchema(_NamedId):
    id_name = "binding_id"
    binding_id = fields.String()
    id = _old_id("binding_id")
    instance_id = fields.String()
    service_id = fields.String()
    plan_id = fields.String()
    state = fields.String(metadata={"enum": ["binding", "ready", "unbinding", "failed"]})
    fingerprint = fields.String()
    created_at = IsoTime()
    updated_at = IsoTime()
    parameters = fields.Dict()
    context = fields.Dict()
    bind_resource = fields.Dict()
    app_guid = fields.String(allow_none=True)
    predecessor_binding_id = fields.String(allow_none=True)
    response = fields.Dict(
        metadata={"description": "The bind response; credential values redacted"}
    )
    expires_at = IsoTime(allow_none=True)
    originating_identity = fields.Dict(allow_none=True)
    backend_state = fields.Dict(allow_none=True)
    operation = fields.String(allow_none=True)


class OperationStateSchema(Schema):
    id = fields.String()
    type = fields.String(
        metadata={"enum": ["provision", "update", "deprovision", "bind", "unbind"]}
    )
    instance_id = fields.String()
    binding_id = fields.String(allow_none=True)
    service_id = fields.String(allow_none=True)
    plan_id = fields.String(allow_none=True)
    state = fields.String(metadata={"enum": ["in progress", "succeeded", "failed"]})
    description = fields.String(allow_none=True)
    started_at = IsoTime()
    finished_at = IsoTime(allow_none=True)
    polls = fields.Integer()
    finish_kind = fields.String()
    finish_amount = fields.Float()
    result = fields.String()
    final_description = fields.String(allow_none=True)
    progress = fields.String(allow_none=True)
    retry_after = fields.Integer(allow_none=True)
    deadline = IsoTime(allow_none=True)
    instance_usable = fields.Boolean(allow_none=True)
    update_repeatable = fields.Boolean(allow_none=True)
    payload = fields.Dict()
    fault = fields.String(allow_none=True)


class StateSchema(Schema):
    instances = fields.List(fields.Nested(InstanceStateSchema))
    bindings = fields.List(fields.Nested(BindingStateSchema))
    operations = fields.List(fields.Nested(OperationStateSchema))
    next = fields.String(
        metadata={"description": "The cursor of the next page; absent on the last one"}
    )


class OperationListSchema(Schema):
    operations = fields.List(fields.Nested(OperationStateSchema))
    next = fields.String(
        metadata={"description": "The cursor of the page of older operations, if any"}
    )


class JournalEntrySchema(Schema):
    id = fields.Integer()
    time = fields.String()
    request_id = fields.String(allow_none=True)
    method = fields.String()
    path = fields.String()
    query = fields.Dict()
    operation = fields.String(allow_none=True)
    instance_id = fields.String(allow_none=True)
    binding_id = fields.String(allow_none=True)
    headers = fields.Dict(
        metadata={"description": "Secret-bearing headers redacted; long values cut"}
    )
    originating_identity = fields.Dict(allow_none=True)
    body = fields.Raw(allow_none=True, metadata={"description": "Secret-looking keys redacted"})
    status = fields.Integer(
        allow_none=True, metadata={"description": "null when no answer was sent"}
    )
    response = fields.Raw(allow_none=True, metadata={"description": "Credential values redacted"})
    duration_ms = fields.Float(allow_none=True)
    fault = fields.String(
        allow_none=True, metadata={"description": "Id of the fault rule that fired"}
    )
    truncated = fields.List(
        fields.String(),
        metadata={"description": "Parts cut to keep the entry within 64 KiB (absent: none)"},
    )


class JournalSchema(Schema):
    requests = fields.List(fields.Nested(JournalEntrySchema))
    next = fields.Integer(
        metadata={"description": "More entries match after these: pass this as since"}
    )
    previous = fields.Integer(
        metadata={"description": "Older entries were left out: pass this as before"}
    )


FAULT_ORIGINS = ("admin", "catalog")


class FaultOriginSchema(Schema):
    """``?origin=`` of ``GET`` and ``DELETE /admin/faults``."""

    class Meta:
        unknown = RAISE

    origin = fields.String(
        validate=validate.OneOf((*FAULT_ORIGINS, "all")),
        metadata={
            "description": "admin: rules added at run time (POST /admin/faults); catalog: "
            "rules declared in the catalog, back after a reset; all: both. GET lists all "
            "by default, DELETE deletes admin rules only by default."
        },
    )


class FaultRuleViewSchema(FaultRuleSchema):
    origin = fields.String(
        metadata={
            "enum": list(FAULT_ORIGINS),
            "description": "admin: added at run time; catalog: declared in the catalog",
        }
    )
    calls = fields.Integer(metadata={"description": "Matching calls counted so far"})
    fired = fields.Integer(metadata={"description": "Times the action was applied"})


class FaultListSchema(Schema):
    faults = fields.List(fields.Nested(FaultRuleViewSchema))


class FaultCreatedSchema(Schema):
    id = fields.String()


class FaultsDeletedSchema(Schema):
    deleted = fields.Integer(metadata={"description": "How many rules were deleted"})


class CatalogAcceptedSchema(Schema):
    services = fields.Integer()
    plans = fields.Integer()
