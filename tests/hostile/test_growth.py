"""Nothing grows without bound: operations, pushed catalogs, YAML documents.

* Finished operations are forgotten once past their retention, except the newest of
  an instance or binding that still exists.
* ``PUT /admin/catalog`` keeps the catalog being served (and what existing instances
  still need), not every document ever pushed.
* A YAML document is refused when its aliases would blow it up, when an alias
  refers to itself, or when it nests too deep; ordinary anchors still work.
(The paged ``/admin/state`` and dashboard are in test_journal_bounds.py.)
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import pytest

from broker.decoding import MAX_YAML_NODES
from tests.hostile.conftest import callers, server_data
from tests.support.osb import OSB
from tests.support.servers import ADMIN_ENV, RunningServer, serve

pytestmark = pytest.mark.server

YAML = {"Content-Type": "application/yaml"}


@pytest.fixture(scope="module")
def forgetful(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server that remembers finished operations for one second."""
    env = {**ADMIN_ENV, "BROKER_OPERATION_RETENTION": "1"}
    with serve(tmp_path_factory.mktemp("forgetful"), env=env) as running:
        yield running


def finish(admin: OSB, operation: str) -> None:
    assert admin.post(f"/admin/operations/{operation}", {"state": "succeeded"}).status == 200


def test_finished_operations_of_deleted_resources_are_forgotten_after_their_retention(
    forgetful: RunningServer,
) -> None:
    with callers(forgetful) as (osb, admin):
        made = {}
        for name in ("gone-1", "gone-2", "kept"):
            answer = osb.provision(name, "mock-async", "manual", accepts_incomplete=True)
            finish(admin, answer.json["operation"])
            made[name] = answer.json["operation"]
        bound = osb.bind("kept", "kept-b", "mock-async", "manual", accepts_incomplete=True)
        finish(admin, bound.json["operation"])
        unbound = osb.unbind("kept", "kept-b", "mock-async", "manual", accepts_incomplete=True)
        finish(admin, unbound.json["operation"])
        service_id, _ = osb.ids("mock-async", "manual")
        update = osb.patch(
            "/v2/service_instances/kept",
            {"service_id": service_id, "parameters": {"x": 1}},
            query={"accepts_incomplete": "true"},
        )
        finish(admin, update.json["operation"])
        for name in ("gone-1", "gone-2"):
            deleting = osb.deprovision(name, "mock-async", "manual", accepts_incomplete=True)
            finish(admin, deleting.json["operation"])
            # succeeded once (the default gone_after), then 410
            assert osb.last_operation(name, deleting.json["operation"]).status == 200
            assert osb.last_operation(name, deleting.json["operation"]).status == 410
        running = osb.provision("running", "mock-async", "manual", accepts_incomplete=True)

        time.sleep(2.5)  # past the retention, and past the interval between two looks
        osb.get("/v2/catalog")  # any request lets the broker look
        time.sleep(0.2)
        osb.get("/v2/catalog")
        owners = {
            (op["instance_id"], op["binding_id"], op["type"])
            for op in admin.get("/admin/operations").json["operations"]
        }
        # Only the newest operation of the live instance, and the running one, are left.
        assert owners == {("kept", None, "update"), ("running", None, "provision")}, owners
        assert osb.last_operation("kept").json == {"state": "succeeded"}
        assert osb.last_operation("running").json["state"] == "in progress"
        assert osb.last_operation("gone-1").status in (404, 410)
        finish(admin, running.json["operation"])


def push(admin: OSB, catalog: dict[str, Any]) -> None:
    answer = admin.put("/admin/catalog", catalog)
    assert answer.status == 200, answer.text


def catalog_with(plans: list[str], version: int) -> dict[str, Any]:
    return {
        "services": [
            {
                "name": "pushed",
                "description": f"version {version}",
                "bindable": True,
                "instances_retrievable": True,
                "plans": [{"name": plan, "description": plan} for plan in plans],
            }
        ]
    }


def stored_catalogs(server: RunningServer) -> int:
    database = server_data(server) / "broker.db"
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        return int(connection.execute("SELECT COUNT(*) FROM catalogs").fetchone()[0])


def test_pushing_catalogs_keeps_the_current_one_not_every_push(
    server: RunningServer, osb: OSB, admin: OSB
) -> None:
    push(admin, catalog_with(["old-plan"], 0))
    assert osb.provision("on-old-plan", "pushed", "old-plan").status == 201
    for version in range(1, 60):
        push(admin, catalog_with(["new-plan", f"plan-{version}"], version))
    # The one being served, the one before it, and the one that still defines the plan
    # of an existing instance: three, after 60 pushes.
    assert stored_catalogs(server) == 3
    served = osb.get("/v2/catalog").json
    pushed = next(service for service in served["services"] if service["name"] == "pushed")
    assert pushed["description"] == "version 59"
    assert "old-plan" not in [plan["name"] for plan in pushed["plans"]]
    # The instance of the removed plan still works, and once it is gone so is its catalog.
    instance = osb.get("/v2/service_instances/on-old-plan")
    assert instance.status == 200, instance.text
    state = admin.get("/admin/state").json
    plan_id = next(i["plan_id"] for i in state["instances"] if i["id"] == "on-old-plan")
    service_id = next(i["service_id"] for i in state["instances"] if i["id"] == "on-old-plan")
    query = {"service_id": service_id, "plan_id": plan_id}
    assert osb.delete("/v2/service_instances/on-old-plan", query=query).status == 200
    push(admin, catalog_with(["new-plan"], 60))
    assert stored_catalogs(server) == 2
    assert admin.post("/admin/reset", {}).status == 200
    assert stored_catalogs(server) == 0


def catalog_holding(value: str, anchors: str = "") -> str:
    """A valid YAML catalog whose one service carries ``value`` in its metadata."""
    return (
        (f"x-anchors:\n{anchors}" if anchors else "")
        + "services:\n"
        + "  - name: yaml-service\n"
        + "    description: d\n"
        + "    bindable: false\n"
        + "    plans: [{name: p, description: d}]\n"
        + f"    metadata: {{value: {value}}}\n"
    )


def laughs(levels: int, width: int = 10) -> str:
    """Anchors each holding ``width`` aliases of the one before: width**levels values."""
    lines = [f"  l0: &l0 [{', '.join(['x'] * width)}]"]
    for level in range(1, levels):
        aliases = ", ".join([f"*l{level - 1}"] * width)
        lines.append(f"  l{level}: &l{level} [{aliases}]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    "document, complaint",
    [
        (catalog_holding("*l8", laughs(9)), f"more than {MAX_YAML_NODES} values"),
        (catalog_holding("*l5", laughs(6)), f"more than {MAX_YAML_NODES} values"),
        (catalog_holding("*l2", laughs(3, width=60)), f"more than {MAX_YAML_NODES} values"),
        (catalog_holding("*loop", "  loop: &loop [1, *loop]\n"), "recursive"),
        (catalog_holding("*loop", "  loop: &loop {self: *loop}\n"), "recursive"),
        (catalog_holding("[" * 70 + "]" * 70), "deeper than 64"),
        (catalog_holding("1").replace("{value: 1}", "\n      " + "- " * 80 + "1"), "deeper than"),
        (catalog_holding(".nan"), "nan"),
        (catalog_holding("-.inf"), "inf"),
        (catalog_holding('"a\\0b"'), "NUL"),
    ],
    ids=["billion-laughs", "million-laughs", "wide-laughs", "recursive-list", "recursive-map",
         "deep-flow", "deep-block", "nan", "infinity", "nul"],
)  # fmt: skip
def test_a_yaml_catalog_that_would_blow_up_is_refused_with_400(
    admin: OSB, document: str, complaint: str
) -> None:
    before = admin.get("/admin/catalog").text
    answer = admin.request("PUT", "/admin/catalog", raw=document, headers=YAML)
    assert answer.status == 400, answer.text[:300]
    assert complaint in answer.json["description"], answer.json
    assert admin.get("/admin/catalog").text == before


def test_a_catalog_with_a_few_aliases_below_the_limits_is_taken(admin: OSB) -> None:
    answer = admin.request(
        "PUT", "/admin/catalog", raw=catalog_holding("*l3", laughs(4)), headers=YAML
    )
    assert answer.status == 200, answer.text
    catalog = admin.get("/admin/catalog").json
    assert len(json.dumps(catalog)) > 10_000  # 10 000 values, each there once


def test_anchors_and_merge_keys_still_work(admin: OSB, osb: OSB) -> None:
    document = """
x-common: &common
  description: shared
  bindable: true
services:
  - <<: *common
    name: anchored
    plans:
      - {<<: *common, name: one}
      - {<<: *common, name: two}
"""
    answer = admin.request("PUT", "/admin/catalog", raw=document, headers=YAML)
    assert answer.status == 200, answer.text
    assert osb.provision("anchored-1", "anchored", "two").status == 201
