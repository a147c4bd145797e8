"""The four calls on a service binding: bind, unbind, fetch, poll."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from broker.client.osb_requests import (
    OriginatingIdentity,
    OSBRequests,
    as_dict,
    binding_path,
    incomplete,
    without_none,
)
from broker.client.responses import (
    BindBody,
    BindingDetails,
    BindingDetailsBody,
    BindResponse,
    LastOperation,
    OperationResponse,
)

__all__ = ["BindingCalls"]

_BIND = BindBody()
_BINDING_DETAILS = BindingDetailsBody()


class BindingCalls(OSBRequests):
    """``/v2/service_instances/:instance_id/service_bindings/:binding_id`` and its poll."""

    def bind(
        self,
        instance_id: str,
        binding_id: str,
        service_id: str,
        plan_id: str,
        *,
        parameters: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        bind_resource: Mapping[str, Any] | None = None,
        app_guid: str | None = None,
        predecessor_binding_id: str | None = None,
        accepts_incomplete: bool = False,
        identity: OriginatingIdentity | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> BindResponse:
        """``PUT …/service_instances/:instance_id/service_bindings/:binding_id`` → 200, 201, 202."""
        body = without_none(
            service_id=service_id,
            plan_id=plan_id,
            parameters=as_dict(parameters),
            context=as_dict(context),
            bind_resource=as_dict(bind_resource),
            app_guid=app_guid,
            predecessor_binding_id=predecessor_binding_id,
        )
        return self._osb(
            BindResponse,
            "PUT",
            binding_path(instance_id, binding_id),
            expected=(200, 201, 202) if accepts_incomplete else (200, 201),
            schema=_BIND,
            params=incomplete(accepts_incomplete),
            body=body,
            identity=identity,
            headers=headers,
        )

    def unbind(
        self,
        instance_id: str,
        binding_id: str,
        service_id: str,
        plan_id: str,
        *,
        accepts_incomplete: bool = False,
        identity: OriginatingIdentity | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> OperationResponse:
        """``DELETE …/service_bindings/:binding_id`` → 200, 410 or (async) 202."""
        path = binding_path(instance_id, binding_id)
        return self._delete(path, service_id, plan_id, accepts_incomplete, identity, headers)

    def fetch_binding(
        self,
        instance_id: str,
        binding_id: str,
        *,
        service_id: str | None = None,
        plan_id: str | None = None,
        identity: OriginatingIdentity | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> BindingDetails:
        """``GET …/service_bindings/:binding_id`` → 200."""
        return self._osb(
            BindingDetails,
            "GET",
            binding_path(instance_id, binding_id),
            expected=(200,),
            schema=_BINDING_DETAILS,
            params={"service_id": service_id, "plan_id": plan_id},
            identity=identity,
            headers=headers,
        )

    def binding_last_operation(
        self,
        instance_id: str,
        binding_id: str,
        *,
        operation: str | None = None,
        service_id: str | None = None,
        plan_id: str | None = None,
        identity: OriginatingIdentity | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> LastOperation:
        """``GET …/service_bindings/:binding_id/last_operation`` → 200 (410: :class:`Gone`)."""
        path = binding_path(instance_id, binding_id)
        return self._poll(path, operation, service_id, plan_id, identity, headers)
