"""Deeply nested JSON in bodies and in the originating-identity header.

Too deep is refused with 400 before anything is stored, on every endpoint that takes
a body (OSB and admin) or the header; exactly at the limit it gets in, and then every
reader of stored data (fetch, state, operations, journal, dashboard, metrics) still
answers. Without credentials the answer is 401 whatever the body.
"""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from broker.decoding import MAX_NESTING
from tests.hostile.conftest import nested_array, nested_object, with_field
from tests.support.osb import OSB

pytestmark = pytest.mark.server

# Depths that must be refused: just over the limit, a few hundred (where the
# interpreter's stack used to give out part-way), and far beyond it.
TOO_DEEP = [MAX_NESTING + 1, 400, 950, 20_000]
JSON = {"Content-Type": "application/json"}


def identity_header(raw_json: str) -> dict[str, str]:
    encoded = base64.b64encode(raw_json.encode()).decode()
    return {"X-Broker-API-Originating-Identity": f"kubernetes {encoded}"}


def expect_too_deep(answer: object, what: str = "") -> None:
    assert answer.status == 400, (answer.status, answer.text[:300])  # type: ignore[attr-defined]
    body = answer.json  # type: ignore[attr-defined]
    assert body["error"] == "BadRequest"
    assert f"deeper than {MAX_NESTING} levels" in body["description"], body
    assert what in body["description"]


@pytest.mark.parametrize("depth", TOO_DEEP)
def test_a_provision_nesting_too_deep_is_refused_before_anything_is_stored(
    osb: OSB, admin: OSB, depth: int
) -> None:
    body = osb.provision_body("mock-async", "sync")
    for field, raw in (
        ("parameters", nested_object(depth - 1)),
        ("context", nested_object(depth - 1, '{"platform": "x"}')),
        ("parameters", '{"list": ' + nested_array(depth - 1) + "}"),
    ):
        instance_id = f"deep-{depth}-{field}"
        answer = osb.put(f"/v2/service_instances/{instance_id}", raw=with_field(body, field, raw))
        expect_too_deep(answer, "request body")
        assert osb.get(f"/v2/service_instances/{instance_id}").status == 404
    ids = [instance["id"] for instance in admin.get("/admin/state").json["instances"]]
    assert not [found for found in ids if found.startswith(f"deep-{depth}-")]


@pytest.mark.parametrize("depth", TOO_DEEP)
def test_update_and_bind_nesting_too_deep_are_refused_and_change_nothing(
    osb: OSB, admin: OSB, depth: int
) -> None:
    instance_id = f"nest-target-{depth}"
    assert osb.provision(instance_id, "mock-async", "sync", parameters={"size": 1}).status == 201
    service_id, plan_id = osb.ids("mock-async", "sync")
    update = with_field({"service_id": service_id}, "parameters", nested_object(depth - 1))
    expect_too_deep(osb.request("PATCH", f"/v2/service_instances/{instance_id}", raw=update))
    bind = with_field(
        {"service_id": service_id, "plan_id": plan_id}, "parameters", nested_object(depth - 1)
    )
    path = f"/v2/service_instances/{instance_id}/service_bindings/b-{depth}"
    expect_too_deep(osb.put(path, raw=bind))
    assert osb.get(path).status == 404
    fetched = osb.get(f"/v2/service_instances/{instance_id}").json
    assert fetched["parameters"] == {"size": 1}


@pytest.mark.parametrize("depth", TOO_DEEP)
def test_an_originating_identity_nesting_too_deep_is_refused_on_every_osb_endpoint(
    osb: OSB, depth: int
) -> None:
    # The header's JSON is the whole document: ``depth`` levels. Beyond gunicorn's
    # header field limit (8 KiB), arrays nest more levels in fewer characters.
    raw = nested_object(depth)
    if len(base64.b64encode(raw.encode())) > 8000:
        raw = nested_array(min(depth, 2900))
    headers = identity_header(raw)
    body = osb.provision_body("mock-async", "sync")
    requests = [
        ("GET", "/v2/catalog", None),
        ("PUT", f"/v2/service_instances/id-{depth}", body),
        ("GET", f"/v2/service_instances/id-{depth}", None),
        ("PATCH", f"/v2/service_instances/id-{depth}", {"service_id": body["service_id"]}),
        ("GET", f"/v2/service_instances/id-{depth}/last_operation", None),
        ("DELETE", f"/v2/service_instances/id-{depth}", None),
    ]
    for method, path, sent in requests:
        answer = osb.request(method, path, json_body=sent, headers=headers)
        if answer.status == 431:  # a header over gunicorn's own limit: refused even earlier
            continue
        expect_too_deep(answer, "X-Broker-API-Originating-Identity")
    assert osb.get(f"/v2/service_instances/id-{depth}").status == 404


@pytest.mark.parametrize("depth", TOO_DEEP)
def test_admin_bodies_nesting_too_deep_are_refused(admin: OSB, depth: int) -> None:
    rule = '{"action": {"status": 500, "body": ' + nested_object(depth - 2) + "}}"
    expect_too_deep(admin.request("POST", "/admin/faults", raw=rule, headers=JSON))
    faults = admin.get("/admin/faults").json["faults"]
    assert [rule for rule in faults if rule["origin"] == "admin"] == []
    catalog = '{"services": ' + nested_array(depth - 1) + "}"
    expect_too_deep(admin.request("PUT", "/admin/catalog", raw=catalog, headers=JSON))
    yaml_catalog = "services: " + nested_array(depth - 1)
    answer = admin.request(
        "PUT", "/admin/catalog", raw=yaml_catalog, headers={"Content-Type": "application/yaml"}
    )
    assert answer.status == 400 and "deeper than" in answer.json["description"], answer.text
    expect_too_deep(
        admin.request("POST", "/admin/operations/nothing", raw=nested_object(depth), headers=JSON)
    )
    expect_too_deep(admin.request("POST", "/admin/reset", raw=nested_object(depth), headers=JSON))


# Bodies up to 16 KiB were decoded for the journal even when refused for their
# credentials: a few hundred levels and more answered 500 instead of 401.
@pytest.mark.parametrize("depth", [MAX_NESTING + 1, 950, 1200, 2500])
def test_without_credentials_a_deep_body_or_header_gets_401(anonymous: OSB, depth: int) -> None:
    for raw in (nested_object(depth), nested_array(depth)):
        answer = anonymous.put("/v2/service_instances/anonymous-deep", raw=raw, headers=JSON)
        assert answer.status == 401, answer.text
        assert answer.json["error"] == "Unauthorized"
    headers = identity_header(nested_array(min(depth, 2900)))
    assert anonymous.get("/v2/catalog", headers=headers).status == 401
    admin_anonymous = OSB(anonymous.client, auth=None, version=None)
    answer = admin_anonymous.request("POST", "/admin/faults", raw=nested_array(depth), headers=JSON)
    assert answer.status == 401


DEEPEST_SCHEMA = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "type": "object",
    "properties": {"a": {"anyOf": [{"$ref": "#"}, {"type": "integer"}]}},
    "additionalProperties": False,
}


def test_data_nested_exactly_to_the_limit_gets_in_and_every_reader_still_answers(
    osb: OSB, admin: OSB, http: httpx.Client
) -> None:
    # A plan whose parameters schema is recursive: validation walks every level too.
    catalog = {
        "services": [
            {
                "name": "deep-service",
                "description": "d",
                "bindable": True,
                "plan_updateable": True,
                "instances_retrievable": True,
                "bindings_retrievable": True,
                "plans": [
                    {
                        "name": "deep-plan",
                        "description": "d",
                        "schemas": {
                            "service_instance": {
                                "create": {"parameters": DEEPEST_SCHEMA},
                                "update": {"parameters": DEEPEST_SCHEMA},
                            },
                            "service_binding": {"create": {"parameters": DEEPEST_SCHEMA}},
                        },
                        "mockbroker": {"update": {"mode": "async", "finish": "manual"}},
                    }
                ],
            }
        ]
    }
    pushed = admin.put("/admin/catalog", catalog)
    assert pushed.status == 200, pushed.text
    body = osb.provision_body("deep-service", "deep-plan")
    # The body is level 1, parameters level 2: parameters hold MAX_NESTING - 1 levels.
    params = nested_object(MAX_NESTING - 1)
    identity = identity_header(nested_object(MAX_NESTING - 1, '{"user": "u"}'))
    answer = osb.put(
        "/v2/service_instances/deepest",
        raw=with_field(body, "parameters", params),
        headers={**identity, **JSON},
    )
    assert answer.status == 201, answer.text
    bind = with_field(
        {"service_id": body["service_id"], "plan_id": body["plan_id"]}, "parameters", params
    )
    bound = osb.put("/v2/service_instances/deepest/service_bindings/deepest-b", raw=bind)
    assert bound.status == 201, bound.text
    fetched = osb.get("/v2/service_instances/deepest")
    assert fetched.status == 200
    assert json.dumps(fetched.json["parameters"]).count("{") == MAX_NESTING - 1
    assert osb.get("/v2/service_instances/deepest/service_bindings/deepest-b").status == 200
    update = with_field({"service_id": body["service_id"]}, "parameters", params)
    updating = osb.request(
        "PATCH",
        "/v2/service_instances/deepest",
        raw=update,
        headers=JSON,
        query={"accepts_incomplete": "true"},
    )
    assert updating.status == 202, updating.text
    for path in (
        "/admin/state",
        "/admin/operations",
        "/admin/requests",
        "/admin/requests.jsonl",
        "/dashboard",
        "/dashboard/instances/deepest",
        "/metrics",
    ):
        answer = admin.get(path)
        assert answer.status == 200, (path, answer.text[:300])
    state = admin.get("/admin/state").json
    stored = next(item for item in state["instances"] if item["id"] == "deepest")
    assert json.dumps(stored["parameters"]).count("{") == MAX_NESTING - 1
    assert stored["originating_identity"]["platform"] == "kubernetes"
    operation = next(op for op in state["operations"] if op["instance_id"] == "deepest")
    finished = admin.post(f"/admin/operations/{operation['id']}", {"state": "succeeded"})
    assert finished.status == 200, finished.text
    assert osb.get("/v2/service_instances/deepest").status == 200
    service_id, plan_id = body["service_id"], body["plan_id"]
    query = {"service_id": service_id, "plan_id": plan_id}
    unbound = osb.delete("/v2/service_instances/deepest/service_bindings/deepest-b", query=query)
    assert unbound.status == 200
    assert osb.delete("/v2/service_instances/deepest", query=query).status == 200
