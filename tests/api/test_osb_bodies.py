"""Request bodies: JSON objects only, size limit, unknown fields ignored, empty = missing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from broker.app import create_app
from broker.config import Settings
from broker.storage import Store
from broker.web.runtime import runtime_of
from tests.support.osb import OSB, expect_error

INSTANCE = "/v2/service_instances/body-1"
BINDING = "/v2/service_instances/body-0/service_bindings/body-b"


def provision_body(osb: OSB, **fields: Any) -> dict[str, Any]:
    return osb.provision_body("mock-database", "small", **fields)


# --- not a JSON object ----------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, fragment",
    [
        (b"not json", "not valid JSON"),
        (b'{"service_id": "x",', "not valid JSON"),
        (b"\xff\xfe\x00", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'"a string"', "JSON object"),
        (b"42", "JSON object"),
        (b"null", "JSON object"),
        (b"true", "JSON object"),
        (b"", "required"),
        (b"   ", "required"),
    ],
)
@pytest.mark.parametrize("method, path", [("PUT", INSTANCE), ("PATCH", INSTANCE), ("PUT", BINDING)])
def test_a_body_that_is_not_a_json_object_answers_400(
    osb: OSB, store: Store, method: str, path: str, raw: bytes, fragment: str
) -> None:
    osb.provision("body-0", "mock-database", "small")
    answer = osb.request(method, path, raw=raw, headers={"Content-Type": "application/json"})
    expect_error(answer, 400, "BadRequest", fragment)
    assert store.get_instance("body-1") is None
    assert store.get_binding("body-b") is None


def test_a_non_json_content_type_answers_400(osb: OSB, store: Store) -> None:
    raw = json.dumps(provision_body(osb)).encode()
    answer = osb.request("PUT", INSTANCE, raw=raw, headers={"Content-Type": "text/plain"})
    expect_error(answer, 400, "BadRequest", "Content-Type", "text/plain")
    assert store.get_instance("body-1") is None


def test_a_json_body_without_content_type_is_still_processed(osb: OSB) -> None:
    raw = json.dumps(provision_body(osb)).encode()
    assert osb.request("PUT", INSTANCE, raw=raw).status == 201


def test_a_vendor_json_content_type_is_accepted(osb: OSB) -> None:
    raw = json.dumps(provision_body(osb)).encode()
    headers = {"Content-Type": "application/vnd.example+json; charset=utf-8"}
    assert osb.request("PUT", INSTANCE, raw=raw, headers=headers).status == 201


# --- size limit ----------------------------------------------------------------------


def test_a_body_over_the_size_limit_answers_413(settings: Settings) -> None:
    app = create_app(settings.replace(max_body_bytes=4096))
    osb = OSB(app.test_client())
    body = provision_body(osb, parameters={"padding": "x" * 5000})
    answer = osb.put(INSTANCE, body)
    expect_error(answer, 413, "PayloadTooLarge", "4096")
    assert runtime_of(app).store.get_instance("body-1") is None
    # Just under the limit is fine (the schema then refuses the unknown parameter).
    answer = osb.put(INSTANCE, provision_body(osb, parameters={"padding": "x" * 3000}))
    expect_error(answer, 400, "InvalidParameters")


def test_the_default_size_limit_is_one_mebibyte(osb: OSB) -> None:
    answer = osb.put(INSTANCE, provision_body(osb, parameters={"padding": "x" * (1024 * 1024)}))
    expect_error(answer, 413, "PayloadTooLarge")


def test_a_refused_oversized_body_is_journaled_by_its_size_only(osb: OSB, admin: OSB) -> None:
    raw = b'{"padding": "' + b"x" * (1024 * 1024) + b'"}'
    answer = osb.request("PUT", INSTANCE, raw=raw, headers={"Content-Type": "application/json"})
    expect_error(answer, 413, "PayloadTooLarge")
    entry = admin.get("/admin/requests", query={"instance_id": "body-1"}).json["requests"][-1]
    assert entry["status"] == 413
    assert entry["body"] == {"truncated": True, "bytes": len(raw)}


# --- unknown fields -------------------------------------------------------------------


def test_unknown_fields_are_ignored_everywhere(osb: OSB, store: Store) -> None:
    body = provision_body(
        osb,
        **{"x-vendor": {"a": 1}, "unknown": [1, 2]},
        context={"platform": "kubernetes", "namespace": "ns", "future_field": True},
        maintenance_info={"version": "1.2.0", "description": "ignored", "extra": 1},
    )
    assert osb.put(INSTANCE, body).status == 201
    service_id, plan_id = osb.ids("mock-database", "small")
    update = {
        "service_id": service_id,
        "plan_id": plan_id,
        "brand_new": 1,
        "previous_values": {"plan_id": plan_id, "organization_id": "o", "odd": 2},
    }
    assert osb.patch(INSTANCE, update).status == 200
    bind = {
        "service_id": service_id,
        "plan_id": plan_id,
        "whatever": {"x": 1},
        "bind_resource": {"app_guid": "app-1", "credential_client_id": "c", "novel": 3},
    }
    assert osb.put(f"{INSTANCE}/service_bindings/body-b", bind).status == 201
    assert store.get_binding("body-b").app_guid == "app-1"  # type: ignore[union-attr]


@pytest.mark.parametrize("name", ["maintenance_info", "previous_values", "bind_resource"])
def test_empty_optional_objects_are_accepted(osb: OSB, name: str) -> None:
    osb.provision("body-0", "mock-database", "small")
    service_id, plan_id = osb.ids("mock-database", "small")
    if name == "bind_resource":
        answer = osb.put(BINDING, {"service_id": service_id, "plan_id": plan_id, name: {}})
        assert answer.status == 201
    elif name == "previous_values":
        assert (
            osb.patch("/v2/service_instances/body-0", {"service_id": service_id, name: {}}).status
            == 200
        )
    else:
        assert osb.put(INSTANCE, provision_body(osb, **{name: {}})).status == 201


def test_null_optional_fields_count_as_absent(osb: OSB) -> None:
    body = provision_body(osb, context=None, parameters=None, maintenance_info=None)
    assert osb.put(INSTANCE, body).status == 201


# --- empty strings are missing --------------------------------------------------------


def given(body: dict[str, Any], field: str, value: str | None) -> dict[str, Any]:
    """``body`` with ``field`` set to ``value``, or without it for ``"absent"``."""
    changed = dict(body)
    if value == "absent":
        changed.pop(field, None)
    else:
        changed[field] = value
    return changed


@pytest.mark.parametrize("field", ["service_id", "plan_id", "organization_guid", "space_guid"])
@pytest.mark.parametrize("value", ["", None, "absent"])
def test_a_provision_without_a_required_field_answers_400(
    osb: OSB, store: Store, field: str, value: str | None
) -> None:
    body = given(provision_body(osb), field, value)
    expect_error(osb.put(INSTANCE, body), 400, "BadRequest", field)
    assert store.get_instance("body-1") is None


def test_every_missing_field_is_named_at_once(osb: OSB) -> None:
    answer = osb.put(INSTANCE, {"service_id": "", "plan_id": ""})
    expect_error(
        answer, 400, "BadRequest", "service_id", "plan_id", "organization_guid", "space_guid"
    )


@pytest.mark.parametrize("field", ["service_id", "plan_id"])
@pytest.mark.parametrize("value", ["", None, "absent"])
def test_a_bind_without_a_required_field_answers_400(
    osb: OSB, store: Store, field: str, value: str | None
) -> None:
    osb.provision("body-0", "mock-database", "small")
    service_id, plan_id = osb.ids("mock-database", "small")
    body = given({"service_id": service_id, "plan_id": plan_id}, field, value)
    expect_error(osb.put(BINDING, body), 400, "BadRequest", field)
    assert store.get_binding("body-b") is None


@pytest.mark.parametrize("value", ["", None, "absent"])
def test_an_update_without_service_id_answers_400(
    osb: OSB, store: Store, value: str | None
) -> None:
    osb.provision("body-0", "mock-database", "small")
    body = given({"parameters": {"storage_gb": 3}}, "service_id", value)
    expect_error(osb.patch("/v2/service_instances/body-0", body), 400, "BadRequest", "service_id")
    assert store.get_instance("body-0").parameters == {}  # type: ignore[union-attr]


@pytest.mark.parametrize("field", ["plan_id", "app_guid", "predecessor_binding_id"])
def test_an_empty_optional_id_answers_400(osb: OSB, field: str) -> None:
    osb.provision("body-0", "mock-database", "small")
    service_id, plan_id = osb.ids("mock-database", "small")
    if field == "plan_id":
        answer = osb.patch(
            "/v2/service_instances/body-0", {"service_id": service_id, "plan_id": ""}
        )
    else:
        answer = osb.put(BINDING, {"service_id": service_id, "plan_id": plan_id, field: ""})
    expect_error(answer, 400, "BadRequest", field)


@pytest.mark.parametrize(
    "field, value",
    [
        ("service_id", 1),
        ("plan_id", ["p"]),
        ("organization_guid", {"a": 1}),
        ("space_guid", True),
        ("context", "kubernetes"),
        ("parameters", [1]),
        ("maintenance_info", "1.2.0"),
    ],
)
def test_a_field_of_the_wrong_type_answers_400(
    osb: OSB, store: Store, field: str, value: Any
) -> None:
    expect_error(osb.put(INSTANCE, provision_body(osb, **{field: value})), 400, "BadRequest", field)
    assert store.get_instance("body-1") is None


def test_a_context_without_platform_answers_400(osb: OSB) -> None:
    answer = osb.put(INSTANCE, provision_body(osb, context={"namespace": "ns"}))
    expect_error(answer, 400, "BadRequest", "context.platform")


def test_accepts_incomplete_must_be_a_boolean(osb: OSB, store: Store) -> None:
    answer = osb.put(INSTANCE, provision_body(osb), query={"accepts_incomplete": "maybe"})
    expect_error(answer, 400, "BadRequest", "accepts_incomplete")
    assert store.get_instance("body-1") is None
