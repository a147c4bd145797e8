"""The five calls on a service instance: provision, update, deprovision, fetch, poll."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from broker.client.osb_requests import (
    OriginatingIdentity,
    OSBRequests,
    as_dict,
    incomplete,
    instance_path,
    without_none,
)
from broker.client.responses import (
    InstanceBody,
    InstanceDetails,
    InstanceDetailsBody,
    InstanceResponse,
    LastOperation,
    OperationResponse,
)

__all__ = ["InstanceCalls"]

_INSTANCE = InstanceBody()
_INSTANCE_DETAILS = InstanceDetailsBody()


class InstanceCalls(OSBRequests):
    """``/v2/service_instances/:instance_id`` and its ``last_operation``."""

    def provision(
        self,
        instance_id: str,
        service_id: str,
        plan_id: str,
        *,
        organization_guid: str | None = None,
        space_guid: str | None = None,
        context: Mapping[str, Any] | None = None,
        parameters: Mapping[str, Any] | None = None,
        maintenance_info: Mapping[str, Any] | None = None,
        accepts_incomplete: bool = False,
        identity: OriginatingIdentity | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> InstanceResponse:
        """``PUT /v2/service_instances/:instance_id`` → 200, 201 or (async) 202."""
        body = without_none(
            service_id=service_id,
            plan_id=plan_id,
            organization_guid=organization_guid,
            space_guid=space_guid,
            context=as_dict(context),
            parameters=as_dict(parameters),
            maintenance_info=as_dict(maintenance_info),
        )
        return self._osb(
            InstanceResponse,
            "PUT",
            instance_path(instance_id),
            expected=(200, 201, 202) if accepts_incomplete else (200, 201),
            schema=_INSTANCE,
            params=incomplete(accepts_incomplete),
            body=body,
            identity=identity,
            headers=headers,
        )

    def update(
        self,
        instance_id: str,
        service_id: str,
        *,
        plan_id: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        previous_values: Mapping[str, Any] | None = None,
        maintenance_info: Mapping[str, Any] | None = None,
        accepts_incomplete: bool = False,
        identity: OriginatingIdentity | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> InstanceResponse:
        """``PATCH /v2/service_instances/:instance_id`` → 200 or (async) 202."""
        body = without_none(
            service_id=service_id,
            plan_id=plan_id,
            parameters=as_dict(parameters),
            context=as_dict(context),
            previous_values=as_dict(previous_values),
            maintenance_info=as_dict(maintenance_info),
        )
        return self._osb(
            InstanceResponse,
            "PATCH",
            instance_path(instance_id),
            expected=(200, 202) if accepts_incomplete else (200,),
            schema=_INSTANCE,
            params=incomplete(accepts_incomplete),
            body=body,
            identity=identity,
            headers=headers,
        )

    def deprovision(
        self,
        instance_id: str,
        service_id: str,
        plan_id: str,
        *,
        accepts_incomplete: bool = False,
        identity: OriginatingIdentity | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> OperationResponse:
        """``DELETE /v2/service_instances/:instance_id`` → 200, 410 or (async) 202."""
        path = instance_path(instance_id)
        return self._delete(path, service_id, plan_id, accepts_incomplete, identity, headers)

    def fetch_instance(
        self,
        instance_id: str,
        *,
        service_id: str | None = None,
        plan_id: str | None = None,
        identity: OriginatingIdentity | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> InstanceDetails:
        """``GET /v2/service_instances/:instance_id`` → 200."""
        return self._osb(
            InstanceDetails,
            "GET",
            instance_path(instance_id),
            expected=(200,),
            schema=_INSTANCE_DETAILS,
            params={"service_id": service_id, "plan_id": plan_id},
            identity=identity,
            headers=headers,
        )

    def last_operation(
        self,
        instance_id: str,
        *,
        operation: str | None = None,
        service_id: str | None = None,
        plan_id: str | None = None,
        identity: OriginatingIdentity | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> LastOperation:
        """``GET /v2/service_instances/:instance_id/last_operation`` → 200 (410: :class:`Gone`)."""
        path = instance_path(instance_id)
        return self._poll(path, operation, service_id, plan_id, identity, headers)
