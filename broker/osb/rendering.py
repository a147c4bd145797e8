"""Catalog templates filled in for one instance or binding (dashboard URLs, extras)."""

from __future__ import annotations

from typing import Any, NamedTuple

from broker.catalog.model import Plan, Service
from broker.credentials.randomness import rng_for
from broker.osb.errors import BackendFailure
from broker.storage.records import InstanceRecord
from broker.templating import TemplateError, render

__all__ = ["RenderedInstance", "Renderer"]


class RenderedInstance(NamedTuple):
    """An instance's template variables and its dashboard URL, worked out together."""

    variables: dict[str, Any]
    dashboard_url: str | None


class Renderer:
    """Renders catalog templates with an instance's variables.

    Random values (``{{ random }}`` and friends) are seeded from the credential seed
    and the ids, so a broker with a seed answers the same bytes every run.
    """

    def __init__(self, base_url: str, credential_seed: str | None) -> None:
        self.base_url = base_url
        self.credential_seed = credential_seed

    def instance_variables(
        self, instance: InstanceRecord, service: Service, plan: Plan
    ) -> dict[str, Any]:
        return {
            "instance_id": instance.id,
            "service_id": service.id,
            "plan_id": plan.id,
            "service": service.name,
            "plan": plan.name,
            "organization_guid": instance.organization_guid,
            "space_guid": instance.space_guid,
            "namespace": instance.context.get("namespace"),
            "base_url": self.base_url,
        }

    def render(self, value: Any, variables: dict[str, Any], *seed_parts: str) -> Any:
        """``value`` with its templates filled in; 500 BackendFailure when one cannot be."""
        try:
            return render(value, variables, rng_for(self.credential_seed, *seed_parts))
        except TemplateError as exc:
            raise BackendFailure(f"cannot render a catalog template: {exc}") from None

    def dashboard_url(self, instance: InstanceRecord, service: Service, plan: Plan) -> str | None:
        return self.instance(instance, service, plan).dashboard_url

    def instance(self, instance: InstanceRecord, service: Service, plan: Plan) -> RenderedInstance:
        """The variables of ``instance`` and its dashboard URL, so a provision renders once
        what both its answer and its backend request use."""
        variables = self.instance_variables(instance, service, plan)
        template = plan.knobs.dashboard_url
        if not template:
            return RenderedInstance(variables, None)
        rendered: str = self.render(template, variables, instance.id, "dashboard")
        return RenderedInstance(variables, rendered)
