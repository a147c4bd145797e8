"""What a provision or update sends: the broker connection, the parameters and the
``inProgressProperties`` recorded with them, the ``kubernetes`` context, the space."""

from __future__ import annotations

from typing import Any

from broker.controller.broker_access import AuthError, BrokerConnection
from broker.controller.go_encoding import go_json
from broker.controller.instances.operations import operation_error
from broker.controller.instances.resolution import Refs
from broker.controller.objects.kinds import ObjectKey
from broker.controller.request_parameters import ParameterError, build_parameters
from broker.controller.work import Work

__all__ = ["broker_connection", "context_of", "in_progress_properties", "namespace_uid"]


def broker_connection(work: Work, refs: Refs) -> BrokerConnection | None:
    """A connection to the instance's broker; None (and a retry) if its auth Secret is unusable.

    Service Catalog reports that on the broker (``ErrorFetchingCatalog``), not here.
    """
    try:
        return work.machinery.connect(refs.broker)
    except AuthError:
        work.requeue()
        work.save()
        return None


def in_progress_properties(work: Work, refs: Refs) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(inProgressProperties, parameters to send), or None after setting ErrorWithParameters."""
    try:
        parameters = build_parameters(work.state, work.namespace, work.spec)
    except ParameterError as exc:
        raw = go_json(work.spec.get("parameters") or {})
        operation_error(work, "ErrorWithParameters", f"failed to prepare parameters {raw}: {exc}")
        return None
    properties: dict[str, Any] = {
        "clusterServicePlanExternalName": refs.plan["spec"]["externalName"],
        "clusterServicePlanExternalID": refs.plan["spec"]["externalID"],
    }
    if parameters.values:
        properties["parameters"] = parameters.redacted
        properties["parameterChecksum"] = parameters.checksum
    if work.spec.get("userInfo"):
        properties["userInfo"] = work.spec["userInfo"]
    return properties, parameters.values


def context_of(work: Work) -> dict[str, Any]:
    return {
        "platform": "kubernetes",
        "namespace": work.namespace,
        "clusterid": work.state.cluster_id,
        "instance_name": work.name,
    }


def namespace_uid(work: Work) -> str | None:
    found = work.state.get(ObjectKey("Namespace", "", work.namespace))
    return str(found["metadata"]["uid"]) if found is not None else None
