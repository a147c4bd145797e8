"""Plan parameter schemas: where they come from, and whether they are usable.

A schema is written inline or as ``{$ref: schemas/x.json}``, relative to the
catalog file and never outside its folder (an admin-API document has no folder:
its schemas are inline). It must name its draft in ``$schema``, be valid for that
draft, hold at most 64 kB, and refer only inside itself (``#...``). The plan's OSB
``schemas`` then carry the schema a ``$ref`` pointed to.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

from broker.catalog.documents import CatalogDocument, read_document
from broker.catalog.problems import join_path
from broker.catalog.proven_schemas import PROVEN_SCHEMAS
from broker.suggestions import did_you_mean

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError
    from jsonschema.protocols import Validator

__all__ = [
    "MAX_SCHEMA_BYTES",
    "SCHEMA_PURPOSES",
    "DeferredValidator",
    "ParameterValidator",
    "Report",
    "known_drafts",
    "plan_schemas",
    "schema_digest",
]

MAX_SCHEMA_BYTES = 64 * 1024
SCHEMA_PURPOSES = {
    "instance_create": ("service_instance", "create"),
    "instance_update": ("service_instance", "update"),
    "binding_create": ("service_binding", "create"),
}


@cache
def known_drafts() -> dict[str, type[Validator]]:
    """The validator class of each JSON Schema draft, by its ``$schema`` URI (no ``#``).

    jsonschema is imported here, on the first schema that is not proven valid
    (:data:`~broker.catalog.proven_schemas.PROVEN_SCHEMAS`) or the first parameters
    checked: it is a tenth of a second of a broker's start, which the bundled
    catalogs do not need.
    """
    from jsonschema import validators

    drafts: tuple[type[Validator], ...] = (
        validators.Draft4Validator,
        validators.Draft6Validator,
        validators.Draft7Validator,
        validators.Draft201909Validator,
        validators.Draft202012Validator,
    )
    return {cls.META_SCHEMA["$schema"].rstrip("#"): cls for cls in drafts}


# Records a problem at a YAML path (of the document being checked).
Report = Callable[[str, str], None]


class ParameterValidator(Protocol):
    """What the broker asks of a plan's parameter validator."""

    def iter_errors(self, instance: Any) -> Iterator[ValidationError]: ...


class DeferredValidator:
    """The validator of a schema proven valid for its draft, made on its first use.

    A broker serving the bundled catalogs starts without importing jsonschema; each
    worker imports it when a request first brings parameters to check.
    """

    def __init__(self, schema: dict[str, Any]) -> None:
        self._schema = schema
        self._validator: Validator | None = None

    def iter_errors(self, instance: Any) -> Iterator[ValidationError]:
        validator = self._validator
        if validator is None:  # two threads may both build it: the same validator
            cls = known_drafts()[self._schema["$schema"].rstrip("#")]
            validator = self._validator = cls(self._schema, format_checker=cls.FORMAT_CHECKER)
        errors: Iterator[ValidationError] = validator.iter_errors(instance)
        return errors


def schema_digest(schema: Mapping[str, Any]) -> str:
    """SHA-256 of a schema's canonical JSON: the same for the same schema, whatever its
    file's layout or key order."""
    text = json.dumps(schema, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def plan_schemas(
    document: CatalogDocument, path: str, raw_schemas: Any, report: Report
) -> tuple[dict[str, ParameterValidator], Any]:
    """A plan's validators by purpose, and its OSB ``schemas`` with each ``$ref``
    replaced by the schema it points to (``raw_schemas`` as it was if none usable)."""
    by_purpose: dict[str, ParameterValidator] = {}
    schemas = raw_schemas
    for purpose, (holder, action) in SCHEMA_PURPOSES.items():
        container = _mapping(raw_schemas, holder, action)
        parameters = container.get("parameters") if container is not None else None
        if not isinstance(parameters, Mapping):
            continue  # absent, or reported by the OSB field schemas
        schema_path = f"{path}.schemas.{holder}.{action}.parameters"
        schema = resolve_schema(document, schema_path, parameters, report)
        if schema is None:
            continue
        validator = compile_schema(schema_path, schema, report)
        if validator is not None:
            by_purpose[purpose] = validator
            schemas = _with_schema(schemas, holder, action, schema)
    return by_purpose, schemas


def resolve_schema(
    document: CatalogDocument, path: str, schema: Mapping[str, Any], report: Report
) -> dict[str, Any] | None:
    """The schema itself, read from the file a lone ``$ref`` names; None if unusable."""
    reference = schema.get("$ref")
    if reference is None or len(schema) != 1:
        return dict(schema)
    if not isinstance(reference, str) or reference.startswith("#"):
        return dict(schema)
    if "://" in reference:
        report(
            path, f"remote $ref {reference!r} is not allowed; use a file under the catalog folder"
        )
        return None
    if document.base_dir is None:
        report(path, f"$ref {reference!r} cannot be resolved here: inline the schema")
        return None
    base = document.base_dir.resolve()
    target = (base / reference).resolve()
    if not target.is_relative_to(base):
        report(path, f"$ref {reference!r} points outside the catalog folder {base}")
        return None
    try:
        loaded = read_document(target)
    except OSError as exc:
        report(path, f"$ref {reference!r}: cannot read {target}: {exc.strerror}")
        return None
    except ValueError as exc:
        report(path, f"$ref {reference!r}: {target}: {exc}")
        return None
    if not isinstance(loaded, dict):
        report(path, f"$ref {reference!r}: {target} must hold a JSON object")
        return None
    return loaded


def compile_schema(path: str, schema: dict[str, Any], report: Report) -> ParameterValidator | None:
    """The validator of a schema, or None when it has any problem (all reported).

    A schema proven valid for its draft (one of the bundled catalogs', by its
    digest) is not checked against its draft's metaschema again: its validator is
    made when first used. Any other schema is checked here.
    """
    found: list[tuple[str, str]] = []
    size = len(json.dumps(schema, separators=(",", ":")).encode())
    if size > MAX_SCHEMA_BYTES:
        found.append((path, f"schema is {size} bytes; OSB allows at most {MAX_SCHEMA_BYTES}"))
    for where, reference in _references(schema, path):
        if not reference.startswith("#"):
            found.append(
                (
                    where,
                    f"$ref {reference!r} is not allowed: schemas may only refer inside "
                    "themselves ('#/...')",
                )
            )
    if not found and schema_digest(schema) in PROVEN_SCHEMAS:
        return DeferredValidator(schema)
    drafts = known_drafts()
    draft = schema.get("$schema")
    cls = drafts.get(draft.rstrip("#")) if isinstance(draft, str) else None
    # Without a usable $schema the rest is still checked, as OSB's draft-04.
    checker = cls or drafts["http://json-schema.org/draft-04/schema"]
    if draft is None:
        found.append((path, "'$schema' is required (e.g. http://json-schema.org/draft-04/schema#)"))
    elif cls is None:
        known = sorted(drafts)
        found.append(
            (
                f"{path}.$schema",
                f"unknown JSON Schema draft {draft!r}"
                f"{did_you_mean(draft.rstrip('#') if isinstance(draft, str) else draft, known)}"
                f" (known: {', '.join(known)})",
            )
        )
    found.extend((f"{path}{where}", message) for where, message in _schema_errors(checker, schema))
    for where, message in found:
        report(where, message)
    if found or cls is None:
        return None
    validator: ParameterValidator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    return validator


def _mapping(value: Any, *keys: str) -> Mapping[str, Any] | None:
    """``value[key1][key2]…`` when every step is a mapping, else None."""
    for key in keys:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value if isinstance(value, Mapping) else None


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
