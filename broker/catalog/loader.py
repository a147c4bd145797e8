"""Loading catalogs: YAML files (or admin-API documents) -> a checked :class:`Catalog`.

Every problem found is collected in one pass, none stops the search (a service
with a broken field still has its plans, knobs, schemas and fault rules checked),
and :class:`CatalogError` lists them all as ``file: yaml.path: message`` lines, in
one style (:mod:`broker.catalog.authoring`). The checks:

* OSB field types and rules (:mod:`broker.catalog.osb_fields`), unique service names
  across files, unique plan names per service, unique ids everywhere;
* plan parameter schemas: inline or ``{$ref: schemas/x.json}`` relative to the
  catalog file (never outside its folder), ``$schema`` present, valid for its draft,
  at most 64 kB, no ``$ref`` other than local ``#...`` pointers;
* ``requires`` consistent with what bindings return (syslog drain, route service,
  volume mounts);
* broker knobs (:mod:`broker.catalog.behaviour`), credential backend names and options,
  template placeholders, fault rules.

Ids left out are derived with uuid5 from the names, so restarts never change them; a
duplicate derived id is reported with the names it comes from. ``.json`` files are
read as JSON, everything else as YAML.
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
from jsonschema.protocols import Validator
from marshmallow import ValidationError

from broker.catalog.authoring import plain
from broker.catalog.behaviour import KnobsSchema, build_knobs, merge_knobs
from broker.catalog.model import OPERATIONS, Catalog, Knobs, Plan, Service
from broker.catalog.osb_fields import CatalogFileSchema, PlanSchema, ServiceSchema
from broker.catalog.problems import CatalogError, Problem, flatten_messages, join_path
from broker.decoding import DecodingError, decode_json, decode_yaml
from broker.suggestions import did_you_mean
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
                data = read_document(file)
            except OSError as exc:
                problems.append(Problem(str(file), "", f"cannot read: {exc.strerror or exc}"))
                continue
            except ValueError as exc:
                problems.append(Problem(str(file), "", str(exc)))
                continue
            documents.append(CatalogDocument(str(file), data, file.parent))
    return documents, problems


def read_document(file: Path) -> Any:
    """A ``.json`` file parsed as JSON, any other as YAML, within :mod:`broker.decoding`'s
    limits (nesting, aliases, NaN, NUL), as a request body would be.

    Raises :class:`OSError` when it cannot be read, :class:`ValueError` saying where
    it is not valid JSON or YAML (in that format's own terms) or which limit it breaks.
    """
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"cannot read: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        if file.suffix == ".json":
            return decode_json(text)
        return decode_yaml(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"not valid YAML: {_yaml_error(exc)}") from None
    except DecodingError as exc:
        if str(exc) != "is not valid JSON":
            raise ValueError(f"the document {exc}") from None
    # Not valid JSON (and not too deep, decode_json looked first): where, in JSON's terms.
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    raise ValueError("not valid JSON")


def _yaml_error(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}" if mark else problem


BackendCheck = Callable[[str, Mapping[str, Any]], list[tuple[str, str]] | None]


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
    builder.check_uniqueness()
    if builder.problems:
        raise CatalogError(builder.problems)
    return Catalog(tuple(builder.services), tuple(document.source for document in documents))


def _text(value: Any) -> str | None:
    """A name or id as written, if it is a usable one (the schemas report the others)."""
    return value if isinstance(value, str) and value else None


def _mapping(value: Any, *keys: str) -> Mapping[str, Any] | None:
    """``value[key1][key2]…`` when every step is a mapping, else None."""
    for key in keys:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value if isinstance(value, Mapping) else None


@dataclass(frozen=True)
class _FirstUse:
    """Where a name or id was first used, and the names an id was derived from."""

    source: str
    path: str
    derived_from: str | None = None

    def __str__(self) -> str:
        return f"{self.source}: {self.path}"


class _Builder:
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
        # (kind, value) -> where it was first used, for duplicate reports.
        self.seen: dict[tuple[str, str], _FirstUse] = {}
        # (what, value, this use, first use) of every duplicate.
        self.duplicates: list[tuple[str, str, _FirstUse, _FirstUse]] = []

    def problem(self, source: str, path: str, message: str) -> None:
        self.problems.append(Problem(source, path, plain(message)))

    # --- documents --------------------------------------------------------------------
    def add_document(self, document: CatalogDocument) -> None:
        data, source = document.data, document.source
        if not isinstance(data, Mapping):
            self.problem(source, "", "a catalog file must be a mapping with a 'services' list")
            return
        # Checked piece by piece, so one broken field does not hide the problems of
        # the rest: every service and plan is checked whatever its neighbours hold.
        envelope = {key: value for key, value in data.items() if key != "services"}
        self.validate(source, "", CatalogFileSchema(exclude=("services",)), envelope)
        file_knobs = self.knob_level(source, "mockbroker", data.get("mockbroker"))
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
            self.validate(source, path, ServiceSchema(exclude=("plans",)), fields_only)
            self.add_service(document, path, service, file_knobs)

    def validate(self, source: str, path: str, schema: Any, data: Any) -> bool:
        """Record every problem of ``data`` under ``path``; True if there is none."""
        if not isinstance(data, Mapping):
            self.problem(source, path, "must be a mapping")
            return False
        try:
            schema.load(data)
        except ValidationError as exc:
            for where, message in flatten_messages(exc.messages, path):
                self.problem(source, where, message)
            return False
        return True

    def knob_level(self, source: str, path: str, raw: Any) -> dict[str, Any]:
        """The valid knobs of one level; problems are recorded, the rest still checked."""
        if not isinstance(raw, Mapping):
            return {}  # absent, or reported by the OSB field schemas as not a mapping
        try:
            loaded: dict[str, Any] = KnobsSchema().load(raw)
        except ValidationError as exc:
            for where, message in flatten_messages(exc.messages, path):
                self.problem(source, where, message)
            loaded = exc.valid_data if isinstance(exc.valid_data, dict) else {}
        # The rules as written: a broken one is missing from the valid data, and the
        # others keep their own index.
        rules = raw.get("faults")
        for index, rule in enumerate(rules if isinstance(rules, list) else []):
            if isinstance(rule, Mapping):
                for where, message in self.fault_problems(rule, f"{path}.faults[{index}]"):
                    self.problem(source, where, message)
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
            self.remember("service name", name, _FirstUse(source, f"{path}.name"))
        if service_id is not None:
            self.remember("id", service_id, _FirstUse(source, f"{path}.id"))
        elif name is not None:
            service_id = str(uuid.uuid5(ID_NAMESPACE, f"service:{name}"))
            self.remember("id", service_id, _FirstUse(source, path, name))
        service_knobs = self.knob_level(source, f"{path}.mockbroker", raw.get("mockbroker"))

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
            self.validate(source, plan_path, PlanSchema(), plan_raw)
            result = self.build_plan(
                document, plan_path, raw, service_id, plan_raw, file_knobs, service_knobs
            )
            if result is not None:
                plan, plan_doc = result
                plans.append(plan)
                plan_docs.append(plan_doc)
        self.check_requires(source, path, raw, plans)
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
        if name is not None and service_name is not None:
            self.remember("plan name", name, _FirstUse(source, f"{path}.name"), scope=service_name)
        if plan_id is not None:
            self.remember("id", plan_id, _FirstUse(source, f"{path}.id"))
        elif name is not None and service_name is not None:
            plan_id = str(uuid.uuid5(ID_NAMESPACE, f"plan:{service_name}/{name}"))
            self.remember("id", plan_id, _FirstUse(source, path, f"{service_name}/{name}"))
        plan_knobs = self.knob_level(source, f"{path}.mockbroker", raw.get("mockbroker"))
        doc = {"id": plan_id, **_osb_fields(raw)}

        validators_by_purpose: dict[str, Validator] = {}
        for purpose, (holder, action) in SCHEMA_PURPOSES.items():
            container = _mapping(raw.get("schemas"), holder, action)
            parameters = container.get("parameters") if container is not None else None
            if not isinstance(parameters, Mapping):
                continue  # absent, or reported by the OSB field schemas
            schema_path = f"{path}.schemas.{holder}.{action}.parameters"
            schema = self.resolve_schema(document, schema_path, parameters)
            if schema is None:
                continue
            validator = self.compile_schema(source, schema_path, schema)
            if validator is not None:
                validators_by_purpose[purpose] = validator
                doc["schemas"] = _with_schema(doc["schemas"], holder, action, schema)

        knobs = build_knobs(merge_knobs(file_knobs, service_knobs, plan_knobs))
        self.check_knobs(source, path, knobs)
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
            validators=validators_by_purpose,
        )
        return plan, doc

    def check_knobs(self, source: str, path: str, knobs: Knobs) -> None:
        where = f"{path}.mockbroker"
        backend = knobs.credentials.backend
        option_problems = self.backend_problems(backend, knobs.credentials.options)
        if option_problems is None:
            known = f" (known: {', '.join(self.backend_names)})" if self.backend_names else ""
            self.problem(
                source,
                f"{where}.credentials.backend",
                f"unknown credential backend {backend!r}"
                f"{did_you_mean(backend, self.backend_names)}{known}",
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

    def check_requires(
        self, source: str, path: str, raw: Mapping[str, Any], plans: list[Plan]
    ) -> None:
        declared = raw.get("requires")
        requires = (
            {item for item in declared if isinstance(item, str)}
            if isinstance(declared, list)
            else set()
        )
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
            loaded = read_document(target)
        except OSError as exc:
            self.problem(source, path, f"$ref {reference!r}: cannot read {target}: {exc.strerror}")
            return None
        except ValueError as exc:
            self.problem(source, path, f"$ref {reference!r}: {target}: {exc}")
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
        # Without a usable $schema the rest is still checked, as OSB's draft-04.
        checker = cls or validators.Draft4Validator
        if draft is None:
            self.problem(
                source, path, "'$schema' is required (e.g. http://json-schema.org/draft-04/schema#)"
            )
        elif cls is None:
            known = sorted(KNOWN_DRAFTS)
            self.problem(
                source,
                f"{path}.$schema",
                f"unknown JSON Schema draft {draft!r}"
                f"{did_you_mean(draft.rstrip('#') if isinstance(draft, str) else draft, known)}"
                f" (known: {', '.join(known)})",
            )
        for where, message in _schema_errors(checker, schema):
            self.problem(source, f"{path}{where}", message)
        if len(self.problems) != before or cls is None:
            return None
        validator: Validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
        return validator

    # --- uniqueness -------------------------------------------------------------------
    def remember(self, kind: str, value: str, use: _FirstUse, scope: str = "") -> None:
        """Note a name or id that must be unique (within ``scope``, e.g. a service)."""
        first = self.seen.setdefault((f"{kind} in {scope}" if scope else kind, value), use)
        if first is not use:
            where = f" in {scope}" if scope else ""
            self.duplicates.append((f"{kind} {value!r}{where}", value, use, first))

    def check_uniqueness(self) -> None:
        for what, value, use, first in self.duplicates:
            if use.derived_from is None:
                message = f"duplicate {what} (first used at {first})"
            else:
                # The author never wrote this id: say where it comes from.
                origin = "the same names" if first.derived_from == use.derived_from else "there"
                message = (
                    f"duplicate id {value!r}, derived from the names {use.derived_from} "
                    f"(also derived from {origin} at {first}); give one of them another name "
                    "or an explicit id"
                )
                if first.derived_from is None:
                    message = (
                        f"duplicate id {value!r}, derived from the names {use.derived_from} "
                        f"(first written as the id at {first}); rename it or give it an explicit id"
                    )
            self.problem(use.source, use.path, message)


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


JSON_TYPES = ("array", "boolean", "integer", "null", "number", "object", "string")


def _schema_errors(cls: type[Validator], schema: dict[str, Any]) -> list[tuple[str, str]]:
    """``(path inside the schema, message)`` for every rule of its draft it breaks."""
    metaschema = cls(cls.META_SCHEMA)
    found: list[tuple[str, str]] = []
    for error in metaschema.iter_errors(schema):
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.path)
        unknown_types = (
            _unknown_types(error.instance) if error.path and error.path[-1] == "type" else []
        )
        if unknown_types:
            found.extend((where, message) for message in unknown_types)
        else:
            found.append((where, f"not a valid JSON Schema: {error.message}"))
    return sorted(found)


def _unknown_types(value: Any) -> list[str]:
    """A message for each unknown type a ``type`` keyword names, with a suggestion."""
    names = value if isinstance(value, list) else [value]
    return [
        f"unknown type {name!r}{did_you_mean(name, JSON_TYPES)} (JSON Schema types: "
        f"{', '.join(JSON_TYPES)})"
        for name in names
        if isinstance(name, str) and name not in JSON_TYPES
    ]


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
