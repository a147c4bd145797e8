"""The request journal: what it records, what it hides, how it is queried."""

from __future__ import annotations

import base64
import json
import threading
import time

from tests.support.osb import OSB, basic, identity


def test_every_osb_request_is_recorded_with_its_identity_and_answer(osb: OSB, admin: OSB) -> None:
    answer = osb.provision(
        "j1",
        "mock-async",
        "polls",
        accepts_incomplete=True,
        headers={"X-Broker-API-Originating-Identity": identity(username="alice")},
        context={"platform": "kubernetes", "namespace": "apps"},
    )
    assert answer.status == 202
    entry = admin.get("/admin/requests", query={"operation": "provision"}).json["requests"][-1]
    assert entry["method"] == "PUT"
    assert entry["path"] == "/v2/service_instances/j1"
    assert entry["query"] == {"accepts_incomplete": "true"}
    assert entry["instance_id"] == "j1" and entry["binding_id"] is None
    assert entry["originating_identity"] == {
        "platform": "kubernetes",
        "value": {"username": "alice"},
    }
    assert entry["body"]["context"] == {"platform": "kubernetes", "namespace": "apps"}
    assert entry["status"] == 202
    assert entry["response"] == {"operation": answer.json["operation"]}
    assert entry["duration_ms"] >= 0 and entry["time"].endswith("Z") and entry["id"] > 0


def test_authorization_and_credentials_never_reach_the_journal(osb: OSB, admin: OSB) -> None:
    osb.provision("j2", "mock-async", "sync", parameters={"db_password": "hunter2"})
    bound = osb.bind("j2", "b2", "mock-async", "sync")
    password = bound.json["credentials"]["password"]
    dump = json.dumps(admin.get("/admin/requests").json)
    assert "hunter2" not in dump and password not in dump
    assert base64.b64encode(b"broker:broker").decode() not in dump
    entry = admin.get("/admin/requests", query={"operation": "bind"}).json["requests"][-1]
    assert entry["headers"]["Authorization"] == "[redacted]"
    assert set(entry["response"]["credentials"]) == set(bound.json["credentials"])
    assert set(entry["response"]["credentials"].values()) == {"[redacted]"}


def test_a_request_refused_for_its_credentials_is_counted_under_its_operation_not_journaled(
    osb: OSB, admin: OSB
) -> None:
    intruder = OSB(osb.client, auth=basic("broker", "wrong"), version=None)
    assert intruder.delete("/v2/service_instances/r1/service_bindings/rb1").status == 401
    assert admin.get("/admin/requests").json["requests"] == []
    metrics = admin.get("/metrics").text
    assert 'mockbroker_requests_total{operation="unbind",status="401"} 1.0' in metrics


def test_filters_combine_and_results_come_oldest_first(osb: OSB, admin: OSB) -> None:
    osb.provision("fa", "mock-async", "sync")
    osb.provision("fb", "mock-async", "sync")
    osb.deprovision("fa", "mock-async", "sync")
    osb.deprovision("nobody", "mock-async", "sync")
    puts = admin.get("/admin/requests", query={"method": "put"}).json["requests"]
    assert [e["instance_id"] for e in puts] == ["fa", "fb"]
    gone = admin.get("/admin/requests", query={"operation": "deprovision", "status": "410"}).json[
        "requests"
    ]
    assert [e["instance_id"] for e in gone] == ["nobody"]
    of_fa = admin.get("/admin/requests", query={"instance_id": "fa"}).json["requests"]
    assert [e["operation"] for e in of_fa] == ["provision", "deprovision"]


def test_since_and_limit_page_through_the_journal(osb: OSB, admin: OSB) -> None:
    for _ in range(5):
        osb.get("/v2/catalog")
    everything = admin.get("/admin/requests").json["requests"]
    last_two = admin.get("/admin/requests", query={"limit": "2"}).json["requests"]
    assert [e["id"] for e in last_two] == [e["id"] for e in everything[-2:]]
    after_first = admin.get(
        "/admin/requests", query={"since": str(everything[0]["id"]), "limit": "2"}
    ).json
    assert [e["id"] for e in after_first["requests"]] == [e["id"] for e in everything[1:3]]
    by_time = admin.get("/admin/requests", query={"since": everything[-1]["time"]}).json["requests"]
    assert everything[-1]["id"] in [e["id"] for e in by_time]


def test_wait_returns_as_soon_as_a_matching_request_arrives(client, osb: OSB, admin: OSB) -> None:
    def provision_later() -> None:
        time.sleep(0.3)
        OSB(client.application.test_client()).provision("late", "mock-async", "sync")

    thread = threading.Thread(target=provision_later)
    started = time.monotonic()
    thread.start()
    found = admin.get("/admin/requests", query={"operation": "provision", "wait": "5"}).json[
        "requests"
    ]
    elapsed = time.monotonic() - started
    thread.join()
    assert [e["instance_id"] for e in found] == ["late"]
    assert 0.25 <= elapsed < 4


def test_wait_gives_up_after_the_timeout_with_an_empty_list(admin: OSB) -> None:
    started = time.monotonic()
    answer = admin.get("/admin/requests", query={"operation": "unbind", "wait": "0.3"})
    assert answer.json == {"requests": []}
    assert time.monotonic() - started >= 0.3


def test_bad_query_parameters_are_named(admin: OSB) -> None:
    for query, word in (
        ({"since": "yesterday"}, "since"),
        ({"limit": "0"}, "limit"),
        ({"wait": "1000"}, "wait"),
        ({"colour": "red"}, "colour"),
        ({"method": "BREW"}, "method"),
    ):
        answer = admin.get("/admin/requests", query=query)
        assert answer.status == 400, query
        assert word in answer.json["description"]


def test_the_journal_exports_as_json_lines(osb: OSB, admin: OSB) -> None:
    osb.get("/v2/catalog")
    osb.provision("jl", "mock-async", "sync")
    answer = admin.get("/admin/requests.jsonl")
    assert answer.headers["Content-Type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in answer.text.splitlines()]
    assert [line["operation"] for line in lines] == ["catalog", "catalog", "provision"]


def test_the_journal_is_bounded_by_its_setting(app, settings, osb: OSB, admin: OSB) -> None:
    from broker.app import create_app

    small = create_app(settings.replace(journal_size=3))
    small_osb, small_admin = (
        OSB(small.test_client()),
        OSB(small.test_client(), auth=admin.auth, version=None),
    )
    for _ in range(7):
        small_osb.get("/v2/catalog")
    assert len(small_admin.get("/admin/requests").json["requests"]) == 3


def test_clearing_the_journal_and_a_reset_that_keeps_it(osb: OSB, admin: OSB) -> None:
    osb.get("/v2/catalog")
    admin.post("/admin/reset", {"keep_journal": True})
    assert admin.get("/admin/requests").json["requests"]
    admin.delete("/admin/requests")
    assert admin.get("/admin/requests").json["requests"] == []
    osb.get("/v2/catalog")
    admin.post("/admin/reset")
    assert admin.get("/admin/requests").json["requests"] == []


def test_admin_requests_are_journaled_only_when_asked(settings, admin: OSB) -> None:
    from broker.app import create_app

    assert admin.get("/admin/requests").json["requests"] == []
    noisy = create_app(settings.replace(journal_admin=True))
    noisy_admin = OSB(noisy.test_client(), auth=admin.auth, version=None)
    noisy_admin.get("/admin/state")
    entries = noisy_admin.get("/admin/requests").json["requests"]
    assert [(e["operation"], e["path"]) for e in entries] == [("admin", "/admin/state")]
