"""Every fault trigger and action, seen from the platform's side of a real server."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support.osb import OSB, basic
from tests.support.servers import ADMIN_ENV, RunningServer, serve

pytestmark = pytest.mark.server

ADMIN = basic("admin", "admin-secret")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with serve(tmp_path_factory.mktemp("faults"), env=ADMIN_ENV, workers=2) as running:
        yield running


@pytest.fixture
def http(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        reset = client.post("/admin/reset", headers={"Authorization": ADMIN})
        assert reset.status_code == 200, reset.text
        yield client


@pytest.fixture
def osb(http: httpx.Client) -> OSB:
    return OSB(http)


@pytest.fixture
def admin(http: httpx.Client) -> OSB:
    return OSB(http, auth=ADMIN, version=None)


def add_fault(admin: OSB, rule: dict) -> str:
    answer = admin.post("/admin/faults", rule)
    assert answer.status == 201, answer.text
    return answer.json["id"]


def provision_statuses(osb: OSB, count: int, plan: str = "sync") -> list[int]:
    return [osb.provision(f"inst-{plan}-{n}", "mock-async", plan).status for n in range(count)]


# --- triggers -----------------------------------------------------------------------


def test_a_rule_without_trigger_fires_on_every_matching_call(osb: OSB, admin: OSB) -> None:
    add_fault(admin, {"match": {"operation": "provision"}, "action": {"status": 503}})
    assert provision_statuses(osb, 3) == [503, 503, 503]
    assert osb.get("/v2/catalog").status == 200


def test_times_fails_the_first_n_calls_then_lets_them_through(osb: OSB, admin: OSB) -> None:
    add_fault(
        admin,
        {"match": {"operation": "provision"}, "trigger": {"times": 2}, "action": {"status": 500}},
    )
    assert provision_statuses(osb, 4) == [500, 500, 201, 201]


def test_nth_fires_only_on_that_call(osb: OSB, admin: OSB) -> None:
    add_fault(
        admin,
        {"match": {"operation": "provision"}, "trigger": {"nth": 3}, "action": {"status": 500}},
    )
    assert provision_statuses(osb, 5) == [201, 201, 500, 201, 201]


def test_after_fires_on_every_call_after_the_nth(osb: OSB, admin: OSB) -> None:
    add_fault(
        admin,
        {"match": {"operation": "provision"}, "trigger": {"after": 2}, "action": {"status": 500}},
    )
    assert provision_statuses(osb, 5) == [201, 201, 500, 500, 500]


def test_probability_with_a_seed_fires_the_same_calls_every_time(osb: OSB, admin: OSB) -> None:
    rule = {
        "match": {"operation": "provision"},
        "trigger": {"probability": 0.5, "seed": 7},
        "action": {"status": 500},
    }
    add_fault(admin, rule)
    first = provision_statuses(osb, 12)
    admin.post("/admin/reset")
    add_fault(admin, rule)
    second = provision_statuses(osb, 12)
    assert first == second
    assert 500 in first and 201 in first


def test_the_rule_counts_calls_and_fires_across_workers(osb: OSB, admin: OSB) -> None:
    rule_id = add_fault(
        admin,
        {"match": {"operation": "catalog"}, "trigger": {"times": 3}, "action": {"status": 500}},
    )
    statuses = [osb.get("/v2/catalog").status for _ in range(10)]
    assert statuses.count(500) == 3
    listed = admin.get(f"/admin/faults/{rule_id}").json
    assert (listed["calls"], listed["fired"]) == (10, 3)


def test_match_by_plan_name_and_instance_id_limits_the_rule(osb: OSB, admin: OSB) -> None:
    add_fault(
        admin,
        {
            "match": {"operation": "provision", "service": "mock-async", "plan": "polls"},
            "action": {"status": 500},
        },
    )
    add_fault(admin, {"match": {"instance_id": "doomed"}, "action": {"status": 418}})
    assert osb.provision("a", "mock-async", "sync").status == 201
    assert osb.provision("b", "mock-async", "polls").status == 500
    assert osb.provision("doomed", "mock-async", "sync").status == 418


# --- actions ------------------------------------------------------------------------


def test_a_rule_naming_a_service_never_matches_the_catalog(osb: OSB, admin: OSB) -> None:
    rule_id = add_fault(admin, {"match": {"service": "mock-async"}, "action": {"status": 500}})
    services = osb.get("/v2/catalog").json["services"]
    (service_id,) = [service["id"] for service in services if service["name"] == "mock-async"]
    asking = osb.get(f"/v2/catalog?service_id={service_id}")
    assert (asking.status, osb.get("/v2/catalog").status) == (200, 200)
    (rule,) = [rule for rule in admin.get("/admin/faults").json["faults"] if rule["id"] == rule_id]
    assert rule["calls"] == 0
    assert provision_statuses(osb, 1) == [500]


def test_an_error_action_answers_the_osb_error_it_describes(osb: OSB, admin: OSB) -> None:
    osb.provision("upd", "mock-async", "sync")
    add_fault(
        admin,
        {
            "match": {"operation": "update"},
            "action": {
                "status": 422,
                "error": "ConcurrencyError",
                "description": "busy elsewhere",
                "instance_usable": True,
                "update_repeatable": False,
            },
        },
    )
    service_id, plan_id = osb.ids("mock-async", "sync")
    answer = osb.patch(
        "/v2/service_instances/upd", {"service_id": service_id, "parameters": {"a": 1}}
    )
    assert answer.status == 422
    assert answer.json == {
        "error": "ConcurrencyError",
        "description": "busy elsewhere",
        "instance_usable": True,
        "update_repeatable": False,
    }
    assert answer.headers["content-type"] == "application/json"


def test_a_fault_before_the_broker_acts_leaves_no_state(osb: OSB, admin: OSB) -> None:
    add_fault(admin, {"match": {"operation": "provision"}, "action": {"status": 500}})
    assert osb.provision("ghost", "mock-async", "sync").status == 500
    assert admin.get("/admin/state").json["instances"] == []


def test_a_fault_after_the_broker_acted_keeps_the_state_for_orphan_mitigation(
    osb: OSB, admin: OSB
) -> None:
    add_fault(
        admin,
        {
            "match": {"operation": "provision"},
            "trigger": {"times": 1},
            "action": {"status": 500, "phase": "after"},
        },
    )
    assert osb.provision("orphan", "mock-async", "sync").status == 500
    assert [i["id"] for i in admin.get("/admin/state").json["instances"]] == ["orphan"]
    assert osb.deprovision("orphan", "mock-async", "sync").status == 200


def test_delay_ms_slows_the_answer_down(osb: OSB, admin: OSB) -> None:
    add_fault(admin, {"match": {"operation": "catalog"}, "action": {"delay_ms": 600}})
    started = time.monotonic()
    answer = osb.get("/v2/catalog")
    assert answer.status == 200
    assert time.monotonic() - started >= 0.6
    assert answer.json["services"]


def test_a_malformed_body_is_not_json(osb: OSB, admin: OSB) -> None:
    add_fault(
        admin, {"match": {"operation": "provision"}, "action": {"status": 201, "body": "malformed"}}
    )
    answer = osb.provision("bad-body", "mock-async", "sync")
    assert answer.status == 201
    assert answer.json is None and answer.text.startswith("{")


def test_an_empty_body_and_a_wrong_success_code(osb: OSB, admin: OSB) -> None:
    add_fault(
        admin, {"match": {"operation": "provision"}, "action": {"status": 204, "body": "empty"}}
    )
    answer = osb.provision("wrong-code", "mock-async", "sync")
    assert answer.status == 204
    assert answer.text == ""


def test_a_wrong_or_missing_content_type_on_the_real_answer(osb: OSB, admin: OSB) -> None:
    add_fault(
        admin,
        {
            "match": {"operation": "catalog"},
            "trigger": {"times": 1},
            "action": {"content_type": "text/html"},
        },
    )
    add_fault(
        admin,
        {"match": {"operation": "catalog"}, "trigger": {"nth": 2}, "action": {"content_type": ""}},
    )
    first, second = osb.get("/v2/catalog"), osb.get("/v2/catalog")
    assert first.headers["content-type"] == "text/html" and first.json["services"]
    assert "content-type" not in {key.lower() for key in second.headers}
    assert second.json["services"]


def test_drop_connection_closes_without_an_answer(http: httpx.Client, osb: OSB, admin: OSB) -> None:
    add_fault(admin, {"match": {"operation": "provision"}, "action": {"drop_connection": True}})
    with pytest.raises(httpx.RemoteProtocolError):
        osb.provision("dropped", "mock-async", "sync")
    entries = admin.get("/admin/requests", query={"operation": "provision"}).json["requests"]
    assert entries[-1]["status"] is None and entries[-1]["fault"]


def test_hang_keeps_the_client_waiting_until_it_gives_up(server: RunningServer, admin: OSB) -> None:
    add_fault(admin, {"match": {"operation": "catalog"}, "action": {"hang": True}})
    started = time.monotonic()
    with httpx.Client(base_url=server.url, timeout=1.5) as impatient:
        with pytest.raises(httpx.ReadTimeout):
            OSB(impatient).get("/v2/catalog")
    assert time.monotonic() - started >= 1.5
    # The hung worker thread notices the client left and is free again.
    admin.delete("/admin/faults")
    # The journal answers as soon as the entry is there, or with none after 5 seconds.
    journal = admin.get("/admin/requests", query={"operation": "catalog", "wait": 5})
    assert journal.status == 200, journal.text
    hung = journal.json["requests"]
    assert hung and hung[-1]["status"] is None


def test_async_result_failed_makes_the_operation_end_failed(osb: OSB, admin: OSB) -> None:
    add_fault(admin, {"match": {"operation": "provision"}, "action": {"async_result": "failed"}})
    answer = osb.provision("will-fail", "mock-async", "polls", accepts_incomplete=True)
    assert answer.status == 202
    states = [osb.last_operation("will-fail").json["state"] for _ in range(3)]
    assert states == ["in progress", "in progress", "failed"]


def test_async_result_never_keeps_the_operation_in_progress(osb: OSB, admin: OSB) -> None:
    add_fault(admin, {"match": {"operation": "provision"}, "action": {"async_result": "never"}})
    osb.provision("forever", "mock-async", "polls", accepts_incomplete=True)
    states = {osb.last_operation("forever").json["state"] for _ in range(6)}
    assert states == {"in progress"}


def test_a_fault_is_recorded_in_the_journal_and_metrics(osb: OSB, admin: OSB) -> None:
    rule_id = add_fault(
        admin, {"match": {"operation": "bind"}, "trigger": {"times": 2}, "action": {"status": 500}}
    )
    osb.provision("j", "mock-async", "sync")
    statuses = [osb.bind("j", "jb", "mock-async", "sync").status for _ in range(3)]
    assert statuses == [500, 500, 201]
    binds = admin.get("/admin/requests", query={"operation": "bind"}).json["requests"]
    assert [(b["status"], b["fault"]) for b in binds] == [
        (500, rule_id),
        (500, rule_id),
        (201, None),
    ]
    assert 'mockbroker_faults_fired_total{operation="bind"} 2.0' in admin.get("/metrics").text


def test_invalid_rules_are_rejected_with_the_path_of_the_problem(admin: OSB) -> None:
    answer = admin.post(
        "/admin/faults", {"match": {"operation": "provison"}, "action": {"status": 99}}
    )
    assert answer.status == 400
    assert answer.json["error"] == "InvalidFaultRule"
    assert "match.operation" in answer.json["description"]
    assert "action.status" in answer.json["description"]
    assert admin.get("/admin/faults").json["faults"] == [] or all(
        rule["origin"] == "catalog" for rule in admin.get("/admin/faults").json["faults"]
    )


def test_catalog_declared_faults_apply_and_a_reset_restores_them(osb: OSB, admin: OSB) -> None:
    statuses = [
        osb.provision(f"flaky-{n}", "mock-flaky", "provision-fails-500-3x").status for n in range(4)
    ]
    assert statuses == [500, 500, 500, 201]
    admin.post("/admin/reset")
    assert osb.provision("flaky-again", "mock-flaky", "provision-fails-500-3x").status == 500


def test_deleting_a_rule_stops_it(osb: OSB, admin: OSB) -> None:
    rule_id = add_fault(admin, {"match": {"operation": "provision"}, "action": {"status": 500}})
    assert osb.provision("x1", "mock-async", "sync").status == 500
    assert admin.delete(f"/admin/faults/{rule_id}").status == 200
    assert osb.provision("x2", "mock-async", "sync").status == 201
    assert admin.delete(f"/admin/faults/{rule_id}").status == 404


def test_deleting_every_rule_keeps_the_catalogs_own_unless_asked(osb: OSB, admin: OSB) -> None:
    declared = admin.get("/admin/faults", query={"origin": "catalog"}).json["faults"]
    assert declared and all(rule["origin"] == "catalog" for rule in declared)
    added = add_fault(admin, {"match": {"operation": "bind"}, "action": {"status": 500}})
    listed = admin.get("/admin/faults").json["faults"]
    assert {rule["id"]: rule["origin"] for rule in listed} == {
        **{rule["id"]: "catalog" for rule in declared},
        added: "admin",
    }

    assert admin.delete("/admin/faults").json == {"deleted": 1}
    # The catalog's flaky plan still fails as declared.
    assert osb.provision("still-flaky", "mock-flaky", "provision-fails-500-3x").status == 500
    assert [r["origin"] for r in admin.get("/admin/faults").json["faults"]] == ["catalog"] * len(
        declared
    )

    gone = admin.delete("/admin/faults", query={"origin": "catalog"})
    assert gone.json == {"deleted": len(declared)}
    assert osb.provision("not-flaky", "mock-flaky", "provision-fails-500-3x").status == 201
    # A reset brings them back.
    admin.post("/admin/reset")
    assert len(admin.get("/admin/faults").json["faults"]) == len(declared)
    add_fault(admin, {"match": {"operation": "bind"}, "action": {"status": 500}})
    assert admin.delete("/admin/faults", query={"origin": "all"}).json == {
        "deleted": len(declared) + 1
    }
    assert admin.get("/admin/faults").json["faults"] == []


def test_rules_are_listed_by_origin(admin: OSB) -> None:
    added = add_fault(admin, {"match": {"operation": "bind"}, "action": {"status": 500}})
    every = admin.get("/admin/faults").json["faults"]
    by_origin = {
        origin: [
            rule["id"]
            for rule in admin.get("/admin/faults", query={"origin": origin}).json["faults"]
        ]
        for origin in ("admin", "catalog", "all")
    }
    assert by_origin["admin"] == [added]
    assert by_origin["catalog"] == [rule["id"] for rule in every if rule["origin"] == "catalog"]
    assert by_origin["all"] == [rule["id"] for rule in every]
    assert admin.get(f"/admin/faults/{added}").json["origin"] == "admin"


def test_an_unknown_fault_origin_is_refused_and_deletes_nothing(admin: OSB) -> None:
    before = admin.get("/admin/faults").json["faults"]
    for method in ("GET", "DELETE"):
        answer = admin.request(method, "/admin/faults", query={"origin": "runtime"})
        assert answer.status == 400, method
        assert answer.json["error"] == "BadRequest"
        assert "origin" in answer.json["description"]
        assert "admin, catalog, all" in answer.json["description"]
    assert admin.get("/admin/faults").json["faults"] == before
