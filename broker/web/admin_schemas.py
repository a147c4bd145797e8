"""Marshmallow schemas of the admin API: its requests, and the records it returns."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from broker.faults.rules import FaultRuleSchema

__all__ = [
    "BindingStateSchema",
    "CatalogAcceptedSchema",
    "FaultCreatedSchema",
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


class InstanceStateSchema(Schema):
    id = fields.String()
    service_id = fields.String()
    plan_id = fields.String()
    state = fields.String(
        metadata={"enum": ["provisioning", "ready", "updating", "deprovisioning", "failed"]}
    )
    fingerprint = fields.String()
    created_at = fields.Float()
    updated_at = fields.Float()
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


class BindingStateSchema(Schema):
    id = fields.String()
    instance_id = fields.String()
    service_id = fields.String()
    plan_id = fields.String()
    state = fields.String(metadata={"enum": ["binding", "ready", "unbinding", "failed"]})
    fingerprint = fields.String()
    created_at = fields.Float()
    updated_at = fields.Float()
    parameters = fields.Dict()
    context = fields.Dict()
    bind_resource = fields.Dict()
    app_guid = fields.String(allow_none=True)
    predecessor_binding_id = fields.String(allow_none=True)
    response = fields.Dict(
        metadata={"description": "The bind response; credential values redacted"}
    )
    expires_at = fields.Float(allow_none=True)
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
    started_at = fields.Float()
    finished_at = fields.Float(allow_none=True)
    polls = fields.Integer()
    finish_kind = fields.String()
    finish_amount = fields.Float()
    result = fields.String()
    final_description = fields.String(allow_none=True)
    progress = fields.String(allow_none=True)
    retry_after = fields.Integer(allow_none=True)
    deadline = fields.Float(allow_none=True)
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


class FaultRuleViewSchema(FaultRuleSchema):
    origin = fields.String(metadata={"enum": ["admin", "catalog"]})
    calls = fields.Integer(metadata={"description": "Matching calls counted so far"})
    fired = fields.Integer(metadata={"description": "Times the action was applied"})


class FaultListSchema(Schema):
    faults = fields.List(fields.Nested(FaultRuleViewSchema))


class FaultCreatedSchema(Schema):
    id = fields.String()


class CatalogAcceptedSchema(Schema):
    services = fields.Integer()
    plans = fields.Integer()
