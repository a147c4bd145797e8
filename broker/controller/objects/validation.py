"""What a manifest of each kind may contain: one marshmallow schema per spec.

Specs reject unknown fields (a typo should not be silently dropped); ``metadata``
keeps only what a user may set (name, namespace, labels, annotations) so objects
copied from ``ctl get -o yaml`` apply again; ``status`` is never taken from a file.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from broker.controller.objects.kinds import KINDS, Kind
from broker.controller.objects.references import CLASS_FIELDS, PLAN_FIELDS, PLAN_FOR_CLASS
from broker.validation_messages import message_texts

__all__ = ["SECRET_KEY", "ManifestProblem", "validate_manifest"]

DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
DURATION = re.compile(r"^(\d+(\.\d+)?(h|m|s|ms))+$")


class ManifestProblem(ValueError):
    """A manifest that cannot be applied; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def _dns_subdomain(value: str) -> None:
    if len(value) > 253 or not DNS_SUBDOMAIN.match(value):
        raise ValidationError(
            "must be a lowercase RFC 1123 subdomain (lowercase letters, digits, '-' and '.')"
        )


def _secret_key(value: str) -> None:
    if not SECRET_KEY.match(value):
        raise ValidationError(
            f"{value!r} is not a valid Secret key (allowed: letters, digits, '-', '_', '.')"
        )


def _non_empty(value: dict[str, Any]) -> None:
    if not value:
        raise ValidationError("must not be empty if present")


class _Strict(Schema):
    class Meta:
        unknown = RAISE


def _text(**kwargs: Any) -> fields.String:
    return fields.String(validate=validate.Length(min=1, error="must not be empty"), **kwargs)


class SecretRefSchema(_Strict):
    name = _text(required=True)
    namespace = _text()


class SecretKeyRefSchema(_Strict):
    name = _text(required=True)
    key = _text(required=True)


class ParametersFromSchema(_Strict):
    secretKeyRef = fields.Nested(SecretKeyRefSchema, required=True)


class AuthSecretSchema(_Strict):
    secretRef = fields.Nested(SecretRefSchema, required=True)


class AuthInfoSchema(_Strict):
    basic = fields.Nested(AuthSecretSchema)
    bearer = fields.Nested(AuthSecretSchema)

    @validates_schema
    def _one(self, data: dict[str, Any], **_: Any) -> None:
        if len([name for name in ("basic", "bearer") if name in data]) != 1:
            raise ValidationError("exactly one of basic or bearer must be set")
        style = "basic" if "basic" in data else "bearer"
        if not data[style].get("secretRef", {}).get("namespace"):
            raise ValidationError(
                {style: {"secretRef": {"namespace": ["is required for a ClusterServiceBroker"]}}}
            )


class BrokerSpecSchema(_Strict):
    url = fields.Url(required=True, require_tld=False, schemes={"http", "https"})
    insecureSkipTLSVerify = fields.Boolean()
    caBundle = fields.String()
    relistBehavior = fields.String(validate=validate.OneOf(["Duration", "Manual"]))
    relistDuration = fields.String(
        validate=validate.Regexp(DURATION, error="must be a duration such as 15m0s")
    )
    relistRequests = fields.Integer(strict=True, validate=validate.Range(min=0))
    authInfo = fields.Nested(AuthInfoSchema)
    catalogRestrictions = fields.Raw()

    @validates_schema
    def _tls(self, data: dict[str, Any], **_: Any) -> None:
        if "catalogRestrictions" in data:
            raise ValidationError(
                {
                    "catalogRestrictions": [
                        "is not supported by mockbroker ctl: every class and plan "
                        "of the catalog is listed"
                    ]
                }
            )
        if data.get("insecureSkipTLSVerify") and data.get("caBundle"):
            raise ValidationError("caBundle cannot be used when insecureSkipTLSVerify is true")
        if data.get("caBundle"):
            try:
                base64.b64decode(data["caBundle"], validate=True)
            except (binascii.Error, ValueError):
                raise ValidationError({"caBundle": ["must be base64-encoded PEM"]}) from None


NAMESPACED_FIELDS = (
    "serviceClassExternalName",
    "servicePlanExternalName",
    "serviceClassExternalID",
    "servicePlanExternalID",
    "serviceClassName",
    "servicePlanName",
)


class InstanceSpecSchema(_Strict):
    clusterServiceClassExternalName = _text()
    clusterServicePlanExternalName = _text()
    clusterServiceClassExternalID = _text()
    clusterServicePlanExternalID = _text()
    clusterServiceClassName = _text()
    clusterServicePlanName = _text()
    # Set by the controller; accepted so `get -o yaml` output applies again.
    clusterServiceClassRef = fields.Dict()
    clusterServicePlanRef = fields.Dict()
    parameters = fields.Dict(validate=_non_empty)
    parametersFrom = fields.List(fields.Nested(ParametersFromSchema))
    externalID = _text()
    updateRequests = fields.Integer(strict=True, validate=validate.Range(min=0))
    userInfo = fields.Dict()
    serviceClassExternalName = fields.Raw()
    servicePlanExternalName = fields.Raw()
    serviceClassExternalID = fields.Raw()
    servicePlanExternalID = fields.Raw()
    serviceClassName = fields.Raw()
    servicePlanName = fields.Raw()

    @validates_schema
    def _plan_reference(self, data: dict[str, Any], **_: Any) -> None:
        if any(name in data for name in NAMESPACED_FIELDS):
            raise ValidationError(
                "namespaced ServiceClass/ServicePlan references need a namespaced ServiceBroker, "
                "which mockbroker ctl does not support: use the clusterServiceClass*/"
                "clusterServicePlan* fields"
            )
        classes = [name for name in CLASS_FIELDS if name in data]
        plans = [plan for plan in PLAN_FIELDS if plan in data]
        if not classes:
            raise ValidationError("plan references must have a class reference set")
        if len(classes) > 1 or len(plans) > 1:
            raise ValidationError(
                "exactly one style of class and plan reference may be used "
                "(external name, external id or Kubernetes name)"
            )
        if plans and PLAN_FOR_CLASS[classes[0]] != plans[0]:
            raise ValidationError(
                f"{plans[0]} cannot be combined with {classes[0]}: use {PLAN_FOR_CLASS[classes[0]]}"
            )


class RenameKeySchema(_Strict):
    from_ = fields.String(required=True, data_key="from")
    to = fields.String(required=True, validate=_secret_key)


class AddKeySchema(_Strict):
    key = fields.String(required=True, validate=_secret_key)
    value = fields.String()
    stringValue = fields.String()
    jsonPathExpression = fields.String()

    @validates_schema
    def _value(self, data: dict[str, Any], **_: Any) -> None:
        if not any(name in data for name in ("value", "stringValue", "jsonPathExpression")):
            raise ValidationError("one of value, stringValue or jsonPathExpression is required")
        if "value" in data:
            try:
                base64.b64decode(data["value"], validate=True)
            except (binascii.Error, ValueError):
                raise ValidationError({"value": ["must be base64-encoded"]}) from None


class AddKeysFromSchema(_Strict):
    secretRef = fields.Nested(SecretRefSchema, required=True)


class RemoveKeySchema(_Strict):
    key = fields.String(required=True)


class SecretTransformSchema(_Strict):
    renameKey = fields.Nested(RenameKeySchema)
    addKey = fields.Nested(AddKeySchema)
    addKeysFrom = fields.Nested(AddKeysFromSchema)
    removeKey = fields.Nested(RemoveKeySchema)

    @validates_schema
    def _one(self, data: dict[str, Any], **_: Any) -> None:
        if len(data) != 1:
            raise ValidationError(
                "exactly one of renameKey, addKey, addKeysFrom or removeKey per entry"
            )


class InstanceRefSchema(_Strict):
    name = _text(required=True)


class BindingSpecSchema(_Strict):
    instanceRef = fields.Nested(InstanceRefSchema, required=True)
    secretName = fields.String(validate=_dns_subdomain)
    parameters = fields.Dict(validate=_non_empty)
    parametersFrom = fields.List(fields.Nested(ParametersFromSchema))
    secretTransforms = fields.List(fields.Nested(SecretTransformSchema))
    externalID = _text()
    userInfo = fields.Dict()


def _namespace(value: str) -> None:
    if len(value) > 63 or not DNS_LABEL.match(value):
        raise ValidationError(f"{value!r} is not a valid namespace name (an RFC 1123 label)")


class MetadataSchema(Schema):
    """Only what a user sets; uid, resourceVersion … of a pasted object are ignored."""

    class Meta:
        unknown = "exclude"

    name = fields.String(required=True, validate=_dns_subdomain)
    namespace = fields.String(validate=_namespace)
    labels = fields.Dict(keys=fields.String(), values=fields.String())
    annotations = fields.Dict(keys=fields.String(), values=fields.String())


SPECS: dict[str, type[Schema]] = {
    "ClusterServiceBroker": BrokerSpecSchema,
    "ServiceInstance": InstanceSpecSchema,
    "ServiceBinding": BindingSpecSchema,
}


def validate_manifest(document: Any) -> tuple[Kind, dict[str, Any]]:
    """The kind and the normalized object of one manifest, or :class:`ManifestProblem`."""
    if not isinstance(document, dict):
        raise ManifestProblem([f"expected a mapping (an object), got {type(document).__name__}"])
    kind_name, api_version = document.get("kind"), document.get("apiVersion")
    if not kind_name or not api_version:
        raise ManifestProblem(["apiVersion and kind are required"])
    kind = next((found for found in KINDS if found.name == kind_name), None)
    if kind is None:
        supported = ", ".join(found.name for found in KINDS if not found.controller_owned)
        raise ManifestProblem(
            [
                f"kind {kind_name} ({api_version}) is not supported; "
                f"mockbroker ctl handles {supported}"
            ]
        )
    if kind.api_version != api_version:
        raise ManifestProblem(
            [f"apiVersion {api_version} is not served for {kind_name}; use {kind.api_version}"]
        )
    if kind.controller_owned:
        raise ManifestProblem(
            [
                f"{kind_name} objects are created by the controller from the broker's "
                "catalog; apply a ClusterServiceBroker instead"
            ]
        )
    problems: list[str] = []
    obj: dict[str, Any] = {"apiVersion": api_version, "kind": kind_name}
    try:
        obj["metadata"] = MetadataSchema().load(document.get("metadata") or {})
    except ValidationError as exc:
        problems.extend(_problems(exc, "metadata"))
    if kind.namespaced:
        obj.setdefault("metadata", {}).setdefault("namespace", "default")
    elif isinstance(obj.get("metadata"), dict):
        obj["metadata"].pop("namespace", None)
    body_problems, body = _body(kind, document)
    problems.extend(body_problems)
    if problems:
        raise ManifestProblem(problems)
    obj.update(body)
    return kind, obj


def _body(kind: Kind, document: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    if kind.name == "Secret":
        return _secret_body(document)
    if kind.name in ("Namespace",):
        return [], {}
    if kind.name == "Pod":
        spec = document.get("spec")
        if not isinstance(spec, dict) or not isinstance(spec.get("containers"), list):
            return ["spec.containers: a Pod needs a list of containers"], {}
        return [], {"spec": spec}
    spec = document.get("spec")
    if not isinstance(spec, dict):
        return ["spec: is required (a mapping)"], {}
    try:
        loaded = SPECS[kind.name]().load(spec)
    except ValidationError as exc:
        return _problems(exc, "spec"), {}
    # marshmallow renamed "from" for Python; keep the manifest's own spelling.
    return [], {"spec": _restore_from(loaded)}


def _restore_from(spec: dict[str, Any]) -> dict[str, Any]:
    for transform in spec.get("secretTransforms") or []:
        rename = transform.get("renameKey")
        if rename and "from_" in rename:
            rename["from"] = rename.pop("from_")
    return spec


def _secret_body(document: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    problems: list[str] = []
    data: dict[str, str] = {}
    for section in ("data", "stringData"):
        given = document.get(section) or {}
        if not isinstance(given, dict):
            problems.append(f"{section}: must be a mapping of keys to values")
            continue
        for key, value in given.items():
            if not SECRET_KEY.match(str(key)):
                problems.append(
                    f"{section}.{key}: not a valid Secret key "
                    "(allowed: letters, digits, '-', '_', '.')"
                )
                continue
            if section == "data":
                try:
                    base64.b64decode(str(value), validate=True)
                except (binascii.Error, ValueError):
                    problems.append(
                        f"data.{key}: must be base64-encoded (use stringData for plain text)"
                    )
                    continue
                data[str(key)] = str(value)
            else:
                text = value if isinstance(value, str) else str(value)
                data[str(key)] = base64.b64encode(text.encode()).decode()
    secret_type = document.get("type") or "Opaque"
    return problems, {"type": str(secret_type), "data": data}


def _problems(exc: ValidationError, base: str) -> list[str]:
    return message_texts(exc.messages, base)
