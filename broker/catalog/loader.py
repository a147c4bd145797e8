"""Loading catalogs: YAML files (or admin-API documents) -> a checked :class:`Catalog`.

Every problem found is collected in one pass, none stops the search (a service
with a broken field still has its plans, knobs, schemas and fault rules checked),
and :class:`CatalogError` lists them all as ``file: yaml.path: message`` lines, in
one style (:mod:`broker.catalog.authoring`). The checks:

* OSB field types and rules (:mod:`broker.catalog.osb_fields`), unique service names
  across files, unique plan names per service, unique ids everywhere
  (:mod:`broker.catalog.identities`);
* plan parameter schemas (:mod:`broker.catalog.parameter_schemas`);
* how each plan behaves (:mod:`broker.catalog.behaviour`, checked as a whole by
  :mod:`broker.catalog.behaviour_checks`): credential backend names and options,
  template placeholders, fault rules, and ``requires`` consistent with what
  bindings return (syslog drain, route service, volume mounts).

Ids left out are derived from the names, so restarts never change them. The files
are read by :mod:`broker.catalog.documents`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache, partial
from pathlib import Path
from typing import Any

from marshmallow import ValidationError

from broker.catalog.authoring import plain
from broker.catalog.behaviour import build_knobs, merge_knobs
from broker.catalog.behaviour_checks import (
    BackendCheck,
    FaultRuleCheck,
    behaviour_level,
    behaviour_problems,
    requires_problems,
)
from broker.catalog.documents import CatalogDocument, documents_from_paths
from broker.catalog.identities import (
    FirstUse,
    Uniqueness,
    derived_plan_id,
    derived_service_id,
)
from broker.catalog.model import Catalog, Plan, Service
from broker.catalog.osb_fields import CatalogFileSchema, PlanSchema, ServiceSchema
from broker.catalog.parameter_schemas import plan_schemas
from broker.catalog.problems import CatalogError, Problem, flatten_messages

__all__ = ["BackendCheck", "FaultRuleCheck", "catalog_from_documents", "load_catalog"]


def load_catalog(
    paths: Iterable[Path],
    *,
    backend_problems: BackendCheck,
    fault_problems: FaultRuleCheck,
    backend_names: Iterable[str] = (),
) -> Catalog:
    """Load files into a catalog or raise :class:`CatalogError` with every problem.

    ``backend_problems(name, options)`` answers the problems of a credential backend's
    options, ``None`` for an unknown backend; ``backend_names`` are the known ones
    (to suggest one for a misspelt name).
    """
    documents, problems = documents_from_paths(paths)
    return catalog_from_documents(
        documents,
        backend_problems=backend_problems,
        fault_problems=fault_problems,
        backend_names=backend_names,
        problems=problems,
    )


def catalog_from_documents(
    documents: list[CatalogDocument],
    *,
    backend_problems: BackendCheck,
    fault_problems: FaultRuleCheck,
    backend_names: Iterable[str] = (),
    problems: list[Problem] | None = None,
) -> Catalog:
    builder = _Builder(backend_problems, fault_problems, tuple(backend_names))
    builder.problems.extend(problems or [])
    for document in documents:
        builder.add_document(document)
    for duplicate in builder.uniqueness.problems():
        builder.problem(duplicate.source, duplicate.path, duplicate.message)
    if builder.problems:
        raise CatalogError(builder.problems)
    return Catalog(tuple(builder.services), tuple(document.source for document in documents))


@cache
def _field_schemas() -> tuple[CatalogFileSchema, ServiceSchema, PlanSchema]:
    """The OSB field schemas of a file's envelope, a service and a plan, made once:
    making a marshmallow schema copies its fields (and later its nested schemas'),
    which cost more than the checks themselves, and loading leaves a schema unchanged."""
    return CatalogFileSchema(exclude=("services",)), ServiceSchema(exclude=("plans",)), PlanSchema()


def _text(value: Any) -> str | None:
    """A name or id as written, if it is a usable one (the schemas report the others)."""
    return value if isinstance(value, str) and value else None


def _osb_fields(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in raw.items() if key not in ("id", "mockbroker", "plans")}


class _Builder:
    """The services of the documents added so far, and every problem found in them."""

    def __init__(
        self,
        backend_problems: BackendCheck,
        fault_problems: FaultRuleCheck,
        backend_names: tuple[str, ...],
    ) -> None:
        self.backend_problems = backend_problems
        self.fault_problems = fault_problems
        self.backend_names = backend_names
        self.problems: list[Problem] = []
        self.services: list[Service] = []
        self.uniqueness = Uniqueness()

    def problem(self, source: str, path: str, message: str) -> None:
        self.problems.append(Problem(source, path, plain(message)))

    def problems_at(self, source: str, found: Iterable[tuple[str, str]]) -> None:
        for path, message in found:
            self.problem(source, path, message)

    # --- documents --------------------------------------------------------------------
    def add_document(self, document: CatalogDocument) -> None:
        data, source = document.data, document.source
        if not isinstance(data, Mapping):
            self.problem(source, "", "a catalog file must be a mapping with a 'services' list")
            return
        # Checked piece by piece, so one broken field does not hide the problems of
        # the rest: every service and plan is checked whatever its neighbours hold.
        envelope = {key: value for key, value in data.items() if key != "services"}
        self.validate(source, "", _field_schemas()[0], envelope)
        file_knobs = self.behaviour_level(source, "mockbroker", data.get("mockbroker"))
        services = data.get("services")
        if not isinstance(services, list):
            self.problem(source, "services", "is required: a list of services")
            return
        for index, service in enumerate(services):
            path = f"services[{index}]"
            if not isinstance(service, Mapping):
                self.problem(source, path, "a service must be a mapping")
                continue
            fields_only = {key: value for key, value in service.items() if key != "plans"}
            self.validate(source, path, _field_schemas()[1], fields_only)
            self.add_service(document, path, service, file_knobs)

    def validate(self, source: str, path: str, schema: Any, data: Any) -> bool:
        """Record every problem of ``data`` under ``path``; True if there is none."""
        if not isinstance(data, Mapping):
            self.problem(source, path, "must be a mapping")
            return False
        try:
            schema.load(data)
        except ValidationError as exc:
            self.problems_at(source, flatten_messages(exc.messages, path))
            return False
        return True

    def behaviour_level(self, source: str, path: str, raw: Any) -> dict[str, Any]:
        """The valid knobs of one level; problems are recorded, the rest still checked."""
        loaded, found = behaviour_level(path, raw, self.fault_problems)
        self.problems_at(source, found)
        return loaded

    # --- services and plans -----------------------------------------------------------
    def add_service(
        self,
        document: CatalogDocument,
        path: str,
        raw: Mapping[str, Any],
        file_knobs: dict[str, Any],
    ) -> None:
        source = document.source
        name = _text(raw.get("name"))
        service_id = _text(raw.get("id"))
        if name is not None:
            self.uniqueness.remember("service name", name, FirstUse(source, f"{path}.name"))
        if service_id is not None:
            self.uniqueness.remember("id", service_id, FirstUse(source, f"{path}.id"))
        elif name is not None:
            service_id = derived_service_id(name)
            self.uniqueness.remember("id", service_id, FirstUse(source, path, name))
        service_knobs = self.behaviour_level(source, f"{path}.mockbroker", raw.get("mockbroker"))

        plans_raw = raw.get("plans")
        if not isinstance(plans_raw, list) or not plans_raw:
            self.problem(source, f"{path}.plans", "a service needs a list of at least one plan")
            return
        plans: list[Plan] = []
        plan_docs: list[dict[str, Any]] = []
        for index, plan_raw in enumerate(plans_raw):
            plan_path = f"{path}.plans[{index}]"
            if not isinstance(plan_raw, Mapping):
                self.problem(source, plan_path, "a plan must be a mapping")
                continue
            self.validate(source, plan_path, _field_schemas()[2], plan_raw)
            result = self.build_plan(
                document, plan_path, raw, service_id, plan_raw, file_knobs, service_knobs
            )
            if result is not None:
                plan, plan_doc = result
                plans.append(plan)
                plan_docs.append(plan_doc)
        self.problems_at(source, requires_problems(path, raw, plans))
        if name is None or service_id is None:
            return  # reported; nothing to serve
        doc = {"id": service_id, **_osb_fields(raw)}
        doc["plans"] = plan_docs
        requires = raw.get("requires")
        self.services.append(
            Service(
                id=service_id,
                name=name,
                doc=doc,
                plans=tuple(plans),
                instances_retrievable=bool(raw.get("instances_retrievable", False)),
                bindings_retrievable=bool(raw.get("bindings_retrievable", False)),
                allow_context_updates=bool(raw.get("allow_context_updates", False)),
                requires=tuple(requires) if isinstance(requires, list) else (),
            )
        )

    def build_plan(
        self,
        document: CatalogDocument,
        path: str,
        service: Mapping[str, Any],
        service_id: str | None,
        raw: Mapping[str, Any],
        file_knobs: dict[str, Any],
        service_knobs: dict[str, Any],
    ) -> tuple[Plan, dict[str, Any]] | None:
        """The plan, checked through; None when it lacks what a plan needs (reported)."""
        source = document.source
        name = _text(raw.get("name"))
        service_name = _text(service.get("name"))
        plan_id = _text(raw.get("id"))
        remember = self.uniqueness.remember
        if name is not None and service_name is not None:
            remember("plan name", name, FirstUse(source, f"{path}.name"), scope=service_name)
        if plan_id is not None:
            remember("id", plan_id, FirstUse(source, f"{path}.id"))
        elif name is not None and service_name is not None:
            plan_id = derived_plan_id(service_name, name)
            remember("id", plan_id, FirstUse(source, path, f"{service_name}/{name}"))
        plan_knobs = self.behaviour_level(source, f"{path}.mockbroker", raw.get("mockbroker"))
        doc = {"id": plan_id, **_osb_fields(raw)}
        validators, schemas = plan_schemas(
            document, path, raw.get("schemas"), partial(self.problem, source)
        )
        if validators:
            doc["schemas"] = schemas

        knobs = build_knobs(merge_knobs(file_knobs, service_knobs, plan_knobs))
        self.problems_at(
            source, behaviour_problems(path, knobs, self.backend_problems, self.backend_names)
        )
        if name is None or plan_id is None or service_id is None or service_name is None:
            return None
        maintenance = raw.get("maintenance_info")
        version = maintenance.get("version") if isinstance(maintenance, Mapping) else None
        plan = Plan(
            id=plan_id,
            name=name,
            service_id=service_id,
            service_name=service_name,
            knobs=knobs,
            bindable=bool(raw.get("bindable", service.get("bindable"))),
            plan_updateable=bool(raw.get("plan_updateable", service.get("plan_updateable", False))),
            binding_rotatable=bool(raw.get("binding_rotatable", False)),
            maximum_polling_duration=raw.get("maximum_polling_duration"),
            maintenance_info_version=version,
            validators=validators,
        )
        return plan, doc
