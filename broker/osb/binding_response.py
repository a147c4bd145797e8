"""The OSB body of a new binding: credentials plus what the plan adds to them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from broker.catalog.model import Plan
from broker.osb.rendering import Renderer
from broker.storage.records import BindingRecord

__all__ = ["binding_response", "iso_time"]


def iso_time(epoch: float) -> str:
    """OSB timestamps: ISO 8601 ``yyyy-mm-ddThh:mm:ss.sZ``."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 100000}Z"


def binding_response(
    renderer: Renderer,
    now: float,
    instance_variables: Mapping[str, Any],
    binding: BindingRecord,
    plan: Plan,
    credentials: dict[str, Any],
) -> tuple[dict[str, Any], float | None]:
    """The response body and the binding's expiry time (``None``: it does not expire).

    ``instance_variables`` are the template variables of the binding's instance
    (:meth:`Renderer.instance_variables`, as the backend was given them). Raises
    :class:`broker.osb.errors.BackendFailure` when a template cannot be rendered.
    """
    instance_id = instance_variables["instance_id"]
    variables = {
        **instance_variables,
        "binding_id": binding.id,
        "app_guid": binding.app_guid,
        **{
            key: credentials.get(key)
            for key in ("username", "password", "host", "port", "database", "uri")
        },
        "scheme": credentials.get("type"),
    }
    extra = plan.knobs.credentials.extra
    if extra:
        credentials = {
            **credentials,
            **renderer.render(extra, variables, instance_id, binding.id, "extra"),
        }
    response: dict[str, Any] = {"credentials": credentials}
    extras = plan.knobs.binding
    if extras.syslog_drain_url:
        response["syslog_drain_url"] = renderer.render(
            extras.syslog_drain_url, variables, instance_id, binding.id, "syslog"
        )
    # A route service URL only answers a route binding (bind_resource.route).
    route = binding.bind_resource.get("route")
    if extras.route_service_url and route:
        response["route_service_url"] = renderer.render(
            extras.route_service_url,
            {**variables, "route": route},
            instance_id,
            binding.id,
            "route",
        )
    if extras.volume_mounts:
        response["volume_mounts"] = [dict(mount) for mount in extras.volume_mounts]
    if extras.endpoints:
        response["endpoints"] = [dict(endpoint) for endpoint in extras.endpoints]
    expires_at = None
    if extras.expires_in:
        expires_at = now + extras.expires_in
        metadata = {"expires_at": iso_time(expires_at)}
        if extras.renew_before is not None:
            metadata["renew_before"] = iso_time(expires_at - extras.renew_before)
        response["metadata"] = metadata
    return response, expires_at
