"""Loading catalogs: YAML files (or admin-API documents) -> a checked :class:`Catalog`.

Every problem found is collected, none stops the search, and :class:`CatalogError`
lists them all as ``file: yaml.path: message`` lines. The checks:

* OSB field types and rules (:mod:`broker.catalog.osb_fields`), unique service names
  across files, unique plan names per service, unique ids everywhere;
* plan parameter schemas: inline or ``{$ref: schemas/x.json}`` relative to the
  catalog file (never outside its folder), ``$schema`` present, valid for its draft,
  at most 64 kB, no ``$ref`` other than local ``#...`` pointers;
* ``requires`` consistent with what bindings return (syslog drain, route service,
  volume mounts);
* broker knobs (:mod:`broker.catalog.knobs`), credential backend names and options,
  template placeholders, fault rules.

Ids left out are derived with uuid5 from the names, so restarts never change them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jsonschema import validators
from jsonschema.exceptions import SchemaError
from jsonschema.protocols import Validator
from marshmallow import ValidationError

from broker.catalog.knobs import KnobsSchema, build_knobs, merge_knobs
from broker.catalog.model import OPERATIONS, Catalog, Knobs, Plan, Service
from broker.catalog.osb_fields import CatalogFileSchema, PlanSchema, ServiceSchema
from broker.catalog.problems import CatalogError, Problem, flatten_messages, join_path
from broker.decoding import DecodingError, decode_yaml
from broker.templating import template_problems

__all__ = [
    "ID_NAMESPACE",
    "CatalogDocument",
    "bundled_catalog_paths",
    "catalog_from_documents",
    "documents_from_paths",
    "load_catalog",
]

ID_NAMESPACE = uuid.UUID("5b0c8e1e-4d7a-5f3e-9c61-6d6f636b6272")
MAX_SCHEMA_BYTES = 64 * 1024
CATALOG_SUFFIXES = (".yaml", ".yml", ".json")
SCHEMA_PURPOSES = {
    "instance_create": ("service_instance", "create"),
    "instance_update": ("service_instance", "update"),
    "binding_create": ("service_binding", "create"),
}
KNOWN_DRAFTS = {
    cls.META_SCHEMA["$schema"].rstrip("#"): cls
    for cls in (
        validators.Draft4Validator,
        validators.Draft6Validator,
        validators.Draft7Validator,
        validators.Draft201909Validator,
        validators.Draft202012Validator,
    )
}
# What a binding returns for each `requires` value.
REQUIRES_FIELDS = {
    "syslog_drain": "syslog_drain_url",
    "route_forwarding": "route_service_url",
    "volume_mount": "volume_mounts",
}

# Checks contributed by other packages (fault rules, credential backends) so the
# catalog package does not import them: each gets (value, yaml path) and returns
# (path, message) problems.
FaultRuleCheck = Callable[[Mapping[str, Any], str], list[tuple[str, str]]]


@dataclass(frozen=True)
class CatalogDocument:
    """One catalog document and where it came from (a file, or an admin request)."""

    source: str
    data: Any
    # Folder that schema $refs are resolved against; None = no file refs allowed.
    base_dir: Path | None = None


def bundled_catalog_paths() -> tuple[Path, ...]:
    """The catalogs shipped with mockbroker (in the wheel, or the source checkout)."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "_catalogs", here.parent / "catalogs"):
        if candidate.is_dir():
            return (candidate,)
    return ()


def documents_from_paths(paths: Iterable[Path]) -> tuple[list[CatalogDocument], list[Problem]]:
    """Read catalog files (folders: every *.yaml/*.yml/*.json directly inside)."""
    documents: list[CatalogDocument] = []
    problems: list[Problem] = []
    for path in paths:
        if path.is_dir():
            files = sorted(
                p for p in path.iterdir() if p.suffix in CATALOG_SUFFIXES and p.is_file()
            )
            if not files:
                problems.append(
                    Problem(str(path), "", "folder holds no *.yaml, *.yml or *.json file")
                )
        elif path.is_file():
            files = [path]
        else:
            problems.append(Problem(str(path), "", "no such file or folder"))
            continue
        for file in files:
            try:
                data = decode_yaml(file.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError) as exc:
                problems.append(Problem(str(file), "", f"cannot read: {exc}"))
                continue
            except yaml.YAMLError as exc:
                problems.append(Problem(str(file), "", f"not valid YAML: {_yaml_error(exc)}"))
                continue
            except DecodingError as exc:
                problems.append(Problem(str(file), "", f"the document {exc}"))
                continue
            documents.append(CatalogDocument(str(file), data, file.parent))
    return documents, problems


def _yaml_error(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}" if mark else problem


def load_catalog(
    paths: Iterable[Path],
    *,
    backend_problems: Callable[[str, Mapping[str, Any]], list[tuple[str, str]] | None],
    fault_problems: FaultRuleCheck,
) -> Catalog:
    """Load files into a catalog or raise :class:`CatalogError` with every problem."""
    documents, problems = documents_from_paths(paths)
    return catalog_from_documents(
        documents,
        backend_problems=backend_problems,
        fault_problems=fault_problems,
        problems=problems,
    )


def catalog_from_documents(
    documents: list[CatalogDocument],
    *,
    backend_problems: Callable[[str, Mapping[str, Any]], list[tuple[str, str]] | None],
    fault_problems: FaultRuleCheck,
    problems: list[Problem] | None = None,
) -> Catalog:
    builder = _Builder(backend_problems, fault_problems)
    builder.problems.extend(problems or [])
    for document in documents:
        builder.add_document(document)
    builder.check_uniqueness()
    if builder.problems:
        raise CatalogError(builder.problems)
    return Catalog(tuple(builder.services), tuple(document.source for document in documents))


class _Builder:
    def __init__(
        self,
        backend_problems: Callable[[str, Mapping[str, Any]], list[tuple[str, str]] | None],
        fault_problems: FaultRuleCheck,
    ) -> None:
        self.backend_problems = backend_problems
        self.fault_problems = fault_problems
        self.problems: list[Problem] = []
        self.services: list[Service] = []
        # (kind, value) -> first "source: path" that used it, for duplicate reports.
        self.seen: dict[tuple[str, str], tuple[str, str]] = {}
        self.duplicates: list[tuple[str, str, str, str, str]] = []

    def problem(self, source: str, path: str, message: str) -> None:
        self.problems.append(Problem(source, path, message))

    # --- documents --------------------------------------------------------------------
    def add_document(self, document: CatalogDocument) -> None:
        data, source = document.data, document.source
        if not isinstance(data, Mapping):
            self.problem(source, "", "a catalog file must be a mapping with a 'services' list")
            return
        # Checked piece by piece, so one broken plan does not hide the problems of others.
        envelope = {key: value for key, value in data.items() if key != "services"}
        if not self.validate(source, "", CatalogFileSchema(exclude=("services",)), envelope):
            return
        services = data.get("services")
        if not isinstance(services, list):
            self.problem(source, "services", "is required: a list of services")
            return
        file_knobs = self.knob_level(source, "mockbroker", data.get("mockbroker"))
        for index, service in enumerate(services):
            path = f"services[{index}]"
            if not isinstance(service, Mapping):
                self.problem(source, path, "a service must be a mapping")
                continue
            fields_only = {key: value for key, value in service.items() if key != "plans"}
            service_ok = self.validate(source, path, ServiceSchema(exclude=("plans",)), fields_only)
            plans = service.get("plans")
            if not isinstance(plans, list) or not plans:
                self.problem(source, f"{path}.plans", "a service needs a list of at least one plan")
                continue
            valid_plans = [
                (number, plan)
                for number, plan in enumerate(plans)
                if self.validate(source, f"{path}.plans[{number}]", PlanSchema(), plan)
            ]
            if service_ok:
                self.add_service(document, path, service, valid_plans, file_knobs)

    def validate(self, source: str, path: str, schema: Any, data: Any) -> bool:
        """Record every problem of ``data`` under ``path``; True if there is none."""
        if not isinstance(data, Mapping):
            self.problem(source, path, "must be a mapping")
            return False
        try:
            schema.load(data)
        except ValidationError as exc:
            for where, message in flatten_messages(exc.messages, path):
                if message == "Unknown field.":
                    message = "unknown field (vendor extensions must start with 'x-')"
                self.problem(source, where, message)
            return False
        return True

    def knob_level(self, source: str, path: str, raw: Any) -> dict[str, Any] | None:
        if raw is None:
            return {}
        try:
            loaded: dict[str, Any] = KnobsSchema().load(raw)
        except ValidationError as exc:
            for where, message in flatten_messages(exc.messages, path):
                self.problem(source, where, message)
            return None
        for index, rule in enumerate(loaded.get("faults", [])):
            for where, message in self.fault_problems(rule, f"{path}.faults[{index}]"):
                self.problem(source, where, message)
        return loaded

    # --- services and plans -----------------------------------------------------------
    def add_service(
        self,
        document: CatalogDocument,
        path: str,
        raw: Mapping[str, Any],
        valid_plans: list[tuple[int, Mapping[str, Any]]],
        file_knobs: dict[str, Any] | None,
    ) -> None:
        source = document.source
        name = raw["name"]
        service_id = raw.get("id") or str(uuid.uuid5(ID_NAMESPACE, f"service:{name}"))
        self.remember("service name", name, source, f"{path}.name")
        self.remember("id", service_id, source, f"{path}.id")
        service_knobs = self.knob_level(source, f"{path}.mockbroker", raw.get("mockbroker"))

        plans: list[Plan] = []
        plan_docs: list[dict[str, Any]] = []
        for index, plan_raw in valid_plans:
            plan_path = f"{path}.plans[{index}]"
            result = self.build_plan(
                document, plan_path, raw, service_id, plan_raw, file_knobs, service_knobs
            )
            if result is not None:
                plan, plan_doc = result
                plans.append(plan)
                plan_docs.append(plan_doc)
        if len(plans) != len(raw["plans"]):
            return
        self.check_requires(source, path, raw, plans)
        doc = {"id": service_id, **_osb_fields(raw)}
        doc["plans"] = plan_docs
        self.services.append(
            Service(
                id=service_id,
                name=name,
                doc=doc,
                plans=tuple(plans),
                instances_retrievable=bool(raw.get("instances_retrievable", False)),
                bindings_retrievable=bool(raw.get("bindings_retrievable", False)),
                allow_context_updates=bool(raw.get("allow_context_updates", False)),
                requires=tuple(raw.get("requires", ())),
            )
        )

    def build_plan(
        self,
        document: CatalogDocument,
        path: str,
        service: Mapping[str, Any],
        service_id: str,
        raw: Mapping[str, Any],
        file_knobs: dict[str, Any] | None,
        service_knobs: dict[str, Any] | None,
    ) -> tuple[Plan, dict[str, Any]] | None:
        source = document.source
        name = raw["name"]
        plan_id = raw.get("id") or str(uuid.uuid5(ID_NAMESPACE, f"plan:{service['name']}/{name}"))
        self.remember(f"plan name in {service['name']}", name, source, f"{path}.name")
        self.remember("id", plan_id, source, f"{path}.id")
        plan_knobs = self.knob_level(source, f"{path}.mockbroker", raw.get("mockbroker"))
        doc = {"id": plan_id, **_osb_fields(raw)}

        validators_by_purpose: dict[str, Validator] = {}
        for purpose, (holder, action) in SCHEMA_PURPOSES.items():
            container = raw.get("schemas", {}).get(holder, {}).get(action)
            if not container:
                continue
            schema_path = f"{path}.schemas.{holder}.{action}.parameters"
            schema = self.resolve_schema(document, schema_path, container["parameters"])
            if schema is None:
                continue
            validator = self.compile_schema(source, schema_path, schema)
            if validator is not None:
                validators_by_purpose[purpose] = validator
                doc["schemas"] = _with_schema(doc["schemas"], holder, action, schema)

        if file_knobs is None or service_knobs is None or plan_knobs is None:
            return None
        knobs = build_knobs(merge_knobs(file_knobs, service_knobs, plan_knobs))
        if not self.check_knobs(source, path, knobs):
            return None
        maintenance = raw.get("maintenance_info")
        plan = Plan(
            id=plan_id,
            name=name,
            service_id=service_id,
            service_name=service["name"],
            knobs=knobs,
            bindable=bool(raw.get("bindable", service["bindable"])),
            plan_updateable=bool(raw.get("plan_updateable", service.get("plan_updateable", False))),
            binding_rotatable=bool(raw.get("binding_rotatable", False)),
            maximum_polling_duration=raw.get("maximum_polling_duration"),
            maintenance_info_version=maintenance["version"] if maintenance else None,
            validators=validators_by_purpose,
        )
        return plan, doc

    def check_knobs(self, source: str, path: str, knobs: Knobs) -> bool:
        before = len(self.problems)
        where = f"{path}.mockbroker"
        backend = knobs.credentials.backend
        option_problems = self.backend_problems(backend, knobs.credentials.options)
        if option_problems is None:
            self.problem(
                source, f"{where}.credentials.backend", f"unknown credential backend {backend!r}"
            )
        else:
            for key, message in option_problems:
                self.problem(source, f"{where}.credentials.options.{key}", message)
        scopes = {"instance", "binding", "credentials"}
        for key, message in template_problems(
            knobs.credentials.extra, f"{where}.credentials.extra", scopes
        ):
            self.problem(source, key, message)
        binding = knobs.binding
        for key in ("syslog_drain_url", "route_service_url"):
            value = getattr(binding, key)
            for at, message in template_problems(
                value, f"{where}.binding.{key}", {"instance", "binding"}
            ):
                self.problem(source, at, message)
        if binding.expires_in is not None and binding.renew_before is not None:
            if binding.renew_before > binding.expires_in:
                self.problem(source, f"{where}.binding.renew_before", "must not exceed expires_in")
        if knobs.dashboard_url:
            for at, message in template_problems(
                knobs.dashboard_url, f"{where}.dashboard_url", {"instance"}
            ):
                self.problem(source, at, message)
        for operation in OPERATIONS:
            behaviour = knobs.behaviour(operation)
            if behaviour.instance_usable is not None and operation not in ("update", "deprovision"):
                self.problem(
                    source,
                    f"{where}.{operation}.instance_usable",
                    "only update and deprovision failures carry instance_usable",
                )
            if behaviour.update_repeatable is not None and operation != "update":
                self.problem(
                    source,
                    f"{where}.{operation}.update_repeatable",
                    "only update failures carry update_repeatable",
                )
        return len(self.problems) == before

    def check_requires(
        self, source: str, path: str, raw: Mapping[str, Any], plans: list[Plan]
    ) -> None:
        requires = set(raw.get("requires", ()))
        bindable = [plan for plan in plans if plan.bindable]
        for requirement, field_name in REQUIRES_FIELDS.items():
            returning = [plan.name for plan in bindable if getattr(plan.knobs.binding, field_name)]
            if returning and requirement not in requires:
                self.problem(
                    source,
                    f"{path}.requires",
                    f"plans {', '.join(returning)} return {field_name} but the service does not "
                    f"declare requires: [{requirement}]",
                )
            if requirement in requires and not returning:
                self.problem(
                    source,
                    f"{path}.requires",
                    f"declares {requirement} but no bindable plan returns {field_name} "
                    f"(set mockbroker.binding.{field_name})",
                )

    # --- parameter schemas ------------------------------------------------------------
    def resolve_schema(
        self, document: CatalogDocument, path: str, schema: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        source = document.source
        reference = schema.get("$ref")
        if reference is None or len(schema) != 1:
            return dict(schema)
        if not isinstance(reference, str) or reference.startswith("#"):
            return dict(schema)
        if "://" in reference:
            self.problem(
                source,
                path,
                f"remote $ref {reference!r} is not allowed; use a file under the catalog folder",
            )
            return None
        if document.base_dir is None:
            self.problem(
                source, path, f"$ref {reference!r} cannot be resolved here: inline the schema"
            )
            return None
        base = document.base_dir.resolve()
        target = (base / reference).resolve()
        if not target.is_relative_to(base):
            self.problem(
                source, path, f"$ref {reference!r} points outside the catalog folder {base}"
            )
            return None
        try:
            loaded = decode_yaml(target.read_text(encoding="utf-8"))
        except DecodingError as exc:
            self.problem(source, path, f"$ref {reference!r}: {target} {exc}")
            return None
        except OSError as exc:
            self.problem(source, path, f"$ref {reference!r}: cannot read {target}: {exc.strerror}")
            return None
        except yaml.YAMLError as exc:
            self.problem(
                source,
                path,
                f"$ref {reference!r}: {target} is not valid JSON/YAML: {_yaml_error(exc)}",
            )
            return None
        if not isinstance(loaded, dict):
            self.problem(source, path, f"$ref {reference!r}: {target} must hold a JSON object")
            return None
        return loaded

    def compile_schema(self, source: str, path: str, schema: dict[str, Any]) -> Validator | None:
        before = len(self.problems)
        size = len(json.dumps(schema, separators=(",", ":")).encode())
        if size > MAX_SCHEMA_BYTES:
            self.problem(
                source, path, f"schema is {size} bytes; OSB allows at most {MAX_SCHEMA_BYTES}"
            )
        for where, reference in _references(schema, path):
            if not reference.startswith("#"):
                self.problem(
                    source,
                    where,
                    f"$ref {reference!r} is not allowed: schemas may only refer inside "
                    "themselves ('#/...')",
                )
        draft = schema.get("$schema")
        cls = KNOWN_DRAFTS.get(draft.rstrip("#")) if isinstance(draft, str) else None
        if draft is None:
            self.problem(
                source, path, "'$schema' is required (e.g. http://json-schema.org/draft-04/schema#)"
            )
        elif cls is None:
            self.problem(
                source,
                f"{path}.$schema",
                f"unknown JSON Schema draft {draft!r}; known: {', '.join(sorted(KNOWN_DRAFTS))}",
            )
        else:
            try:
                cls.check_schema(schema)
            except SchemaError as exc:
                location = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in exc.path)
                self.problem(source, f"{path}{location}", f"not a valid JSON Schema: {exc.message}")
        if len(self.problems) != before or cls is None:
            return None
        validator: Validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
        return validator

    # --- uniqueness -------------------------------------------------------------------
    def remember(self, kind: str, value: str, source: str, path: str) -> None:
        key = (kind, value)
        first = self.seen.get(key)
        if first is None:
            self.seen[key] = (source, path)
        else:
            self.duplicates.append((kind, value, source, path, f"{first[0]}: {first[1]}"))

    def check_uniqueness(self) -> None:
        for kind, value, source, path, first in self.duplicates:
            self.problem(source, path, f"duplicate {kind} {value!r} (first used at {first})")


def _osb_fields(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in raw.items() if key not in ("id", "mockbroker", "plans")}


def _with_schema(
    schemas: Mapping[str, Any], holder: str, action: str, schema: dict[str, Any]
) -> dict[str, Any]:
    updated = {
        key: dict(value) if isinstance(value, Mapping) else value for key, value in schemas.items()
    }
    container = dict(updated[holder][action])
    container["parameters"] = schema
    updated[holder][action] = container
    return updated


def _references(value: Any, path: str) -> Iterable[tuple[str, str]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key == "$ref" and isinstance(item, str):
                yield join_path(path, key), item
            else:
                yield from _references(item, join_path(path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _references(item, join_path(path, index))
