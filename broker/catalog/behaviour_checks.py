"""Checks of how a plan behaves (the ``mockbroker:`` key) beyond its schema.

Each level (file, service, plan) is loaded on its own, so a broken key at one level
does not hide the rest, and its fault rules are checked by the faults package
(handed in as a :data:`FaultRuleCheck`, so the catalog does not import it). The
merged behaviour of a plan is then checked as a whole: its credential backend and
options (a :data:`BackendCheck`), template placeholders, binding renewal, which
failures may carry ``instance_usable`` or ``update_repeatable``, and the service's
``requires`` against what its bindable plans return.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import cache
from typing import Any

from marshmallow import ValidationError

from broker.catalog.behaviour import KnobsSchema
from broker.catalog.model import OPERATIONS, Knobs, Plan
from broker.catalog.problems import flatten_messages
from broker.suggestions import did_you_mean
from broker.templating import template_problems

__all__ = [
    "REQUIRES_FIELDS",
    "BackendCheck",
    "FaultRuleCheck",
    "behaviour_level",
    "behaviour_problems",
    "requires_problems",
]

# What a binding returns for each `requires` value.
REQUIRES_FIELDS = {
    "syslog_drain": "syslog_drain_url",
    "route_forwarding": "route_service_url",
    "volume_mount": "volume_mounts",
}

# Checks contributed by other packages (fault rules, credential backends) so the
# catalog package does not import them: each answers (path, message) problems.
# A fault rule's check gets (rule, yaml path).
FaultRuleCheck = Callable[[Mapping[str, Any], str], list[tuple[str, str]]]
# A backend's check gets (backend name, options); None means an unknown backend.
BackendCheck = Callable[[str, Mapping[str, Any]], list[tuple[str, str]] | None]


@cache
def _knobs_schema() -> KnobsSchema:
    """Made once: a new schema per level copied every field of every nested schema."""
    return KnobsSchema()


def behaviour_level(
    path: str, raw: Any, fault_problems: FaultRuleCheck
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The valid keys of one level, and the problems of the others and of its fault rules."""
    if not isinstance(raw, Mapping):
        return {}, []  # absent, or reported by the OSB field schemas as not a mapping
    found: list[tuple[str, str]] = []
    try:
        loaded: dict[str, Any] = _knobs_schema().load(raw)
    except ValidationError as exc:
        found.extend(flatten_messages(exc.messages, path))
        loaded = exc.valid_data if isinstance(exc.valid_data, dict) else {}
    # The rules as written: a broken one is missing from the valid data, and the
    # others keep their own index.
    rules = raw.get("faults")
    for index, rule in enumerate(rules if isinstance(rules, list) else []):
        if isinstance(rule, Mapping):
            found.extend(fault_problems(rule, f"{path}.faults[{index}]"))
    return loaded, found


def behaviour_problems(
    path: str, knobs: Knobs, backend_problems: BackendCheck, backend_names: Iterable[str]
) -> list[tuple[str, str]]:
    """The problems of a plan's merged behaviour (``path`` is the plan's)."""
    where = f"{path}.mockbroker"
    found: list[tuple[str, str]] = []
    backend = knobs.credentials.backend
    option_problems = backend_problems(backend, knobs.credentials.options)
    if option_problems is None:
        names = tuple(backend_names)
        known = f" (known: {', '.join(names)})" if names else ""
        found.append(
            (
                f"{where}.credentials.backend",
                f"unknown credential backend {backend!r}{did_you_mean(backend, names)}{known}",
            )
        )
    else:
        found.extend((f"{where}.credentials.options.{key}", m) for key, m in option_problems)
    scopes = {"instance", "binding", "credentials"}
    found.extend(template_problems(knobs.credentials.extra, f"{where}.credentials.extra", scopes))
    binding = knobs.binding
    for key in ("syslog_drain_url", "route_service_url"):
        value = getattr(binding, key)
        found.extend(template_problems(value, f"{where}.binding.{key}", {"instance", "binding"}))
    if binding.expires_in is not None and binding.renew_before is not None:
        if binding.renew_before > binding.expires_in:
            found.append((f"{where}.binding.renew_before", "must not exceed expires_in"))
    if knobs.dashboard_url:
        found.extend(template_problems(knobs.dashboard_url, f"{where}.dashboard_url", {"instance"}))
    for operation in OPERATIONS:
        behaviour = knobs.behaviour(operation)
        if behaviour.instance_usable is not None and operation not in ("update", "deprovision"):
            found.append(
                (
                    f"{where}.{operation}.instance_usable",
                    "only update and deprovision failures carry instance_usable",
                )
            )
        if behaviour.update_repeatable is not None and operation != "update":
            found.append(
                (
                    f"{where}.{operation}.update_repeatable",
                    "only update failures carry update_repeatable",
                )
            )
    return found


def requires_problems(
    path: str, raw: Mapping[str, Any], plans: list[Plan]
) -> list[tuple[str, str]]:
    """A service's ``requires`` against what its bindable plans return (``path``: the service's)."""
    declared = raw.get("requires")
    requires = (
        {item for item in declared if isinstance(item, str)}
        if isinstance(declared, list)
        else set()
    )
    found: list[tuple[str, str]] = []
    bindable = [plan for plan in plans if plan.bindable]
    for requirement, field_name in REQUIRES_FIELDS.items():
        returning = [plan.name for plan in bindable if getattr(plan.knobs.binding, field_name)]
        if returning and requirement not in requires:
            found.append(
                (
                    f"{path}.requires",
                    f"plans {', '.join(returning)} return {field_name} but the service does not "
                    f"declare requires: [{requirement}]",
                )
            )
        if requirement in requires and not returning:
            found.append(
                (
                    f"{path}.requires",
                    f"declares {requirement} but no bindable plan returns {field_name} "
                    f"(set mockbroker.binding.{field_name})",
                )
            )
    return found
