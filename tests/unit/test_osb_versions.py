"""broker.osb.versions: which version answers, and answers without what it lacks."""

from __future__ import annotations

import json

import pytest

from broker.osb.versions import (
    CatalogBodies,
    answer_fields,
    effective_version,
    error_fields,
)


@pytest.mark.parametrize(
    ("announced", "pinned", "answered"),
    [
        ((2, 13), None, (2, 13)),
        ((2, 17), None, (2, 17)),
        ((2, 19), None, (2, 17)),
        ((2, 17), (2, 12), (2, 12)),
        ((2, 11), (2, 16), (2, 16)),
    ],
)
def test_the_pinned_version_wins_and_newer_ones_are_answered_as_the_newest(
    announced: tuple[int, int], pinned: tuple[int, int] | None, answered: tuple[int, int]
) -> None:
    assert effective_version(announced, pinned) == answered


def test_a_nested_field_is_dropped_and_its_parent_kept() -> None:
    body = {
        "credentials": {"uri": "x"},
        "endpoints": [{"host": "h", "ports": ["1"]}],
        "metadata": {"expires_at": "t", "renew_before": "r"},
    }
    assert answer_fields("bind", body, (2, 16)) == {
        "credentials": {"uri": "x"},
        "endpoints": [{"host": "h", "ports": ["1"]}],
        "metadata": {"expires_at": "t"},
    }
    assert answer_fields("bind", body, (2, 14)) == {"credentials": {"uri": "x"}}
    assert answer_fields("bind", body, (2, 17)) is body


def test_an_operation_without_version_rules_is_answered_as_it_is() -> None:
    assert answer_fields("deprovision", {"operation": "op"}, (2, 11)) == {"operation": "op"}
    assert answer_fields(None, {"a": 1}, (2, 11)) == {"a": 1}


def test_error_bodies_follow_the_version() -> None:
    gone = {"error": "Gone", "description": "instance x does not exist"}
    assert error_fields(410, gone, (2, 13)) == {}
    assert error_fields(410, gone, (2, 14)) == gone
    failed = {"error": "E", "description": "d", "instance_usable": True}
    assert error_fields(422, failed, (2, 15)) == {"error": "E", "description": "d"}
    assert error_fields(422, failed, (2, 16)) == failed


def test_catalog_bodies_are_made_once_per_catalog_and_version() -> None:
    document = {
        "services": [
            {
                "id": "s",
                "name": "n",
                "bindings_retrievable": True,
                "plans": [{"id": "p", "name": "n", "maintenance_info": {"version": "1.0.0"}}],
            }
        ]
    }
    body = json.dumps(document).encode()
    bodies = CatalogBodies()
    first = bodies.body(body, "etag-1", (2, 13))
    assert bodies.body(body, "etag-1", (2, 13)) is first
    assert json.loads(first[0]) == {
        "services": [{"id": "s", "name": "n", "plans": [{"id": "p", "name": "n"}]}]
    }
    assert bodies.body(body, "etag-1", (2, 17)) == (body, "etag-1")
    changed = bodies.body(body, "etag-2", (2, 13))
    assert changed is not first and changed[1] != first[1]
