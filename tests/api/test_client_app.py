"""OSBClient against the real application in-process (httpx.WSGITransport): the ten OSB
endpoints and the admin API."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
import pytest
from flask import Flask

from broker import client as osb
from broker.client import OriginatingIdentity, OSBClient


@pytest.fixture
def broker(app: Flask) -> Iterator[OSBClient]:
    with OSBClient(
        "http://broker.test",
        username="broker",
        password="broker",
        admin_username="admin",
        admin_password="admin-secret",
        transport=httpx.WSGITransport(app=app),
        identity=OriginatingIdentity("kubernetes", {"username": "alice", "uid": ""}),
    ) as client:
        yield client


def ids(client: OSBClient, service: str, plan: str) -> tuple[str, str]:
    offering, chosen = client.catalog().plan(service, plan)
    return offering["id"], chosen["id"]


def test_an_instance_and_binding_go_through_their_whole_life(broker: OSBClient) -> None:
    service, plan = ids(broker, "mock-database", "small")
    created = broker.provision(
        "i-1", service, plan, organization_guid="o", space_guid="s", parameters={"storage_gb": 2}
    )
    assert created.status == 201 and not created.is_async
    again = broker.provision(
        "i-1", service, plan, organization_guid="o", space_guid="s", parameters={"storage_gb": 2}
    )
    assert again.status == 200
    fetched = broker.fetch_instance("i-1")
    assert (fetched.service_id, fetched.plan_id, fetched.parameters) == (
        service,
        plan,
        {"storage_gb": 2},
    )
    updated = broker.update("i-1", service, parameters={"storage_gb": 3})
    assert updated.status == 200
    bound = broker.bind("i-1", "b-1", service, plan)
    assert bound.status == 201 and bound.credentials and "uri" in bound.credentials
    assert broker.fetch_binding("i-1", "b-1").credentials == bound.credentials
    assert broker.unbind("i-1", "b-1", service, plan).status == 200
    assert broker.unbind("i-1", "b-1", service, plan).gone
    assert broker.deprovision("i-1", service, plan).status == 200
    with pytest.raises(osb.NotFoundError):
        broker.fetch_instance("i-1")


def test_async_operations_are_polled_with_their_operation_and_retry_after(
    broker: OSBClient,
) -> None:
    service, plan = ids(broker, "mock-async", "polls")
    accepted = broker.provision(
        "i-2", service, plan, organization_guid="o", space_guid="s", accepts_incomplete=True
    )
    assert accepted.is_async and accepted.operation
    states = [broker.last_operation("i-2", operation=accepted.operation) for _ in range(3)]
    assert [answer.state for answer in states] == ["in progress", "in progress", "succeeded"]
    assert states[0].retry_after == 1.0 and states[0].description == "Working on it"
    bind = broker.bind("i-2", "b-2", service, plan, accepts_incomplete=True)
    assert bind.is_async
    polled = [
        broker.binding_last_operation("i-2", "b-2", operation=bind.operation).state
        for _ in range(3)
    ]
    assert polled[-1] == "succeeded"
    gone = broker.deprovision("i-2", service, plan, accepts_incomplete=True)
    assert gone.is_async


def test_broker_refusals_arrive_as_typed_errors(broker: OSBClient) -> None:
    service, plan = ids(broker, "mock-async", "async-only")
    with pytest.raises(osb.AsyncRequiredError) as raised:
        broker.provision("i-3", service, plan, organization_guid="o", space_guid="s")
    assert raised.value.status == 422 and raised.value.error == "AsyncRequired"
    with pytest.raises(osb.BadRequestError):
        broker.provision("i-3", service, "not-a-plan", organization_guid="o", space_guid="s")
    with pytest.raises(osb.NotFoundError):
        broker.last_operation("never-existed")
    wrong = OSBClient(
        broker.base_url,
        username="broker",
        password="nope",
        transport=broker.connection._http._transport,
    )  # noqa: SLF001 - same app, other credentials
    with pytest.raises(osb.UnauthorizedError):
        wrong.catalog()
    old = OSBClient(
        broker.base_url,
        username="broker",
        password="broker",
        api_version="2.10",
        transport=broker.connection._http._transport,
    )  # noqa: SLF001
    with pytest.raises(osb.PreconditionFailedError):
        old.catalog()


def test_the_admin_api_reports_state_journal_and_faults(broker: OSBClient) -> None:
    service, plan = ids(broker, "mock-database", "small")
    broker.provision("i-4", service, plan, organization_guid="o", space_guid="s")
    state = broker.state()
    assert [entry["instance_id"] for entry in state["instances"]] == ["i-4"]
    journal = broker.journal(operation="provision")
    (entry,) = journal
    assert entry["instance_id"] == "i-4" and entry["status"] == 201
    assert entry["originating_identity"] == {
        "platform": "kubernetes",
        "value": {"username": "alice", "uid": ""},
    }
    assert broker.journal(since=entry["id"], operation="provision") == []
    rule = broker.add_fault(
        {
            "match": {"operation": "fetch_instance"},
            "trigger": {"times": 1},
            "action": {"status": 503, "error": "Busy"},
        }
    )
    with pytest.raises(osb.ServerError) as raised:
        broker.fetch_instance("i-4")
    assert raised.value.error == "Busy"
    (listed,) = [found for found in broker.faults() if found["id"] == rule]
    assert listed["fired"] == 1
    broker.delete_fault(rule)
    assert all(found["id"] != rule for found in broker.faults())
    broker.add_fault({"action": {"status": 500}})
    assert broker.delete_faults() == 1
    assert broker.fetch_instance("i-4").status == 200
    broker.reset()
    assert broker.state()["instances"] == [] and broker.journal() == []


def test_the_journal_has_its_name_and_the_old_one_still_works_with_a_warning(
    broker: OSBClient,
) -> None:
    broker.catalog()
    assert [entry["operation"] for entry in broker.journal()] == ["catalog"]
    with pytest.deprecated_call(match=r"OSBClient.requests\(\) .* use OSBClient.journal\(\)"):
        assert broker.requests(operation="catalog") == broker.journal(operation="catalog")


def test_state_names_ids_and_times_as_the_journal_does(broker: OSBClient) -> None:
    service, plan = ids(broker, "mock-async", "sync")
    broker.provision("i-6", service, plan, organization_guid="o", space_guid="s")
    broker.bind("i-6", "b-6", service, plan)
    state = broker.state()
    (instance,) = state["instances"]
    (binding,) = state["bindings"]
    (entry,) = broker.journal(operation="provision")
    assert (instance["instance_id"], binding["binding_id"]) == ("i-6", "b-6")
    assert binding["instance_id"] == entry["instance_id"] == "i-6"
    time_format = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
    for moment in (entry["time"], instance["created_at"], binding["updated_at"]):
        assert re.fullmatch(time_format, moment), moment
    created, recorded = (
        datetime.fromisoformat(moment.replace("Z", "+00:00"))
        for moment in (instance["created_at"], entry["time"])
    )
    assert timedelta(0) <= recorded - created < timedelta(seconds=5)
    # The old key reads until the next release, with a warning.
    assert "id" not in instance
    with pytest.deprecated_call(match="'id' of an instance of state.* use 'instance_id'"):
        assert instance["id"] == "i-6"
    with pytest.deprecated_call(match="use 'binding_id'"):
        assert binding.get("id") == "b-6"
    assert instance.get("no-such-key") is None


def test_add_fault_takes_a_rule_keywords_or_both(broker: OSBClient) -> None:
    service, plan = ids(broker, "mock-async", "sync")
    broker.provision("i-7", service, plan, organization_guid="o", space_guid="s")
    whole = broker.add_fault(
        {"match": {"operation": "fetch_instance"}, "trigger": {"nth": 1}, "action": {"status": 501}}
    )
    keywords = broker.add_fault(operation="fetch_instance", nth=2, status=502)
    both = broker.add_fault({"match": {"operation": "fetch_instance"}}, nth=3, status=503)
    statuses = []
    for _ in range(4):
        try:
            statuses.append(broker.fetch_instance("i-7").status)
        except osb.ServerError as exc:
            statuses.append(exc.status)
    assert statuses == [501, 502, 503, 200]
    rules = {rule["id"]: rule for rule in broker.faults(origin="admin")}
    assert rules[keywords]["match"] == rules[both]["match"] == rules[whole]["match"]
    assert rules[both]["trigger"] == {"nth": 3}
    with pytest.raises(TypeError, match="contradicts"):
        broker.add_fault({"action": {"status": 500}}, status=503)


def test_a_misspelled_fault_field_is_named_with_the_closest_one(broker: OSBClient) -> None:
    with pytest.raises(TypeError) as keyword:
        broker.add_fault(opration="bind", status=500)
    assert str(keyword.value) == "unknown match field 'opration'; did you mean 'operation'?"
    with pytest.raises(osb.BadRequestError) as rule:
        broker.add_fault({"match": {"opration": "bind"}, "action": {"status": 500, "tims": 2}})
    assert rule.value.error == "InvalidFaultRule"
    assert "match.opration: unknown field; did you mean 'operation'?" in (
        rule.value.description or ""
    )
    assert "action.tims: unknown field; did you mean the trigger field 'times'?" in (
        rule.value.description or ""
    )
    with pytest.raises(osb.BadRequestError, match="operation: belongs under 'match'"):
        broker.add_fault({"operation": "bind", "action": {"status": 500}})
    assert broker.faults(origin="admin") == []


def test_rules_carry_their_origin_and_deleting_them_spares_the_catalogs(
    broker: OSBClient,
) -> None:
    declared = broker.faults()
    assert declared and {rule["origin"] for rule in declared} == {"catalog"}
    added = broker.add_fault(operation="bind", status=500)
    assert [rule["id"] for rule in broker.faults(origin="admin")] == [added]
    assert broker.faults(origin="catalog") == declared
    assert broker.delete_faults() == 1
    assert broker.faults() == declared
    assert broker.delete_faults(origin="catalog") == len(declared)
    assert broker.faults() == []


def test_a_misspelled_service_or_plan_suggests_the_right_name(broker: OSBClient) -> None:
    with pytest.raises(
        LookupError, match="no service 'mock-databse'; did you mean 'mock-database'"
    ):
        broker.catalog().plan("mock-databse", "small")
    with pytest.raises(
        LookupError, match="'mock-database' has no plan 'smal'; did you mean 'small'"
    ):
        broker.catalog().plan("mock-database", "smal")


def test_manual_operations_are_finished_through_the_admin_api(broker: OSBClient) -> None:
    service, plan = ids(broker, "mock-async", "manual")
    accepted = broker.provision(
        "i-5", service, plan, organization_guid="o", space_guid="s", accepts_incomplete=True
    )
    assert accepted.operation is not None
    finished = broker.finish_operation(accepted.operation, "failed", "no capacity")
    assert finished["state"] == "failed"
    assert broker.last_operation("i-5", operation=accepted.operation).description == "no capacity"
    with pytest.raises(osb.ConflictError):
        broker.finish_operation(accepted.operation, "succeeded")
    with pytest.raises(osb.NotFoundError):
        broker.finish_operation("no-such-operation", "succeeded")


def test_a_new_catalog_is_accepted_or_refused_with_every_problem(broker: OSBClient) -> None:
    counts = broker.put_catalog(
        {
            "services": [
                {
                    "name": "solo",
                    "description": "one",
                    "bindable": True,
                    "plans": [{"name": "p", "description": "p"}],
                }
            ]
        }
    )
    assert counts == {"services": 1, "plans": 1}
    assert [service["name"] for service in broker.catalog().services] == ["solo"]
    with pytest.raises(osb.BadRequestError) as raised:
        broker.put_catalog({"services": [{"name": "broken"}]})
    assert raised.value.description
