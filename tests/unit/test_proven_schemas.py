"""The schemas a broker does not check at start are exactly the bundled ones, each
valid for its draft; any other schema is still checked (and refused when invalid)."""

from __future__ import annotations

import json

from broker.catalog.documents import bundled_catalog_paths
from broker.catalog.parameter_schemas import (
    DeferredValidator,
    compile_schema,
    known_drafts,
    schema_digest,
)
from broker.catalog.proven_schemas import PROVEN_SCHEMAS


def bundled_schemas() -> dict[str, dict[str, object]]:
    (folder,) = bundled_catalog_paths()
    return {
        str(path.relative_to(folder)): json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(folder.rglob("*.json"))
    }


def test_the_proven_digests_are_those_of_the_bundled_schemas() -> None:
    digests = {schema_digest(schema): name for name, schema in bundled_schemas().items()}
    assert set(digests) == PROVEN_SCHEMAS, (
        "broker/catalog/proven_schemas.py must list exactly these digests: "
        + ", ".join(f"{name}: {digest}" for digest, name in sorted(digests.items()))
    )


def test_every_bundled_schema_is_valid_for_its_draft() -> None:
    drafts = known_drafts()
    for name, schema in bundled_schemas().items():
        draft = schema["$schema"]
        assert isinstance(draft, str), name
        cls = drafts[draft.rstrip("#")]
        assert list(cls(cls.META_SCHEMA).iter_errors(schema)) == [], name


def test_a_proven_schema_validates_parameters_as_jsonschema_does() -> None:
    schema = bundled_schemas()["schemas/database-create.json"]
    problems: list[tuple[str, str]] = []
    validator = compile_schema("plan", schema, lambda *problem: problems.append(problem))
    assert problems == []
    assert isinstance(validator, DeferredValidator)
    draft = schema["$schema"]
    assert isinstance(draft, str)
    cls = known_drafts()[draft.rstrip("#")]
    direct = cls(schema, format_checker=cls.FORMAT_CHECKER)
    for parameters in ({}, [], {"size": "huge"}, {"storage_gb": -1}):
        assert [error.message for error in validator.iter_errors(parameters)] == [
            error.message for error in direct.iter_errors(parameters)
        ]
    assert list(validator.iter_errors([])) != []


def test_a_changed_bundled_schema_is_checked_again() -> None:
    schema = bundled_schemas()["schemas/database-create.json"]
    changed = {**schema, "type": "objekt"}
    problems: list[tuple[str, str]] = []
    validator = compile_schema("plan", changed, lambda *problem: problems.append(problem))
    assert validator is None
    assert any("unknown type 'objekt'" in message for _, message in problems), problems
