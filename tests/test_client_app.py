"""OSBClient against the real application in-process (httpx.WSGITransport): the ten OSB
endpoints and the admin API."""

from __future__ import annotations

from collections.abc import Iterator

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
    with pytest.raises(osb.NotFound):
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
    with pytest.raises(osb.AsyncRequired) as raised:
        broker.provision("i-3", service, plan, organization_guid="o", space_guid="s")
    assert raised.value.status == 422 and raised.value.error == "AsyncRequired"
    with pytest.raises(osb.BadRequest):
        broker.provision("i-3", service, "not-a-plan", organization_guid="o", space_guid="s")
    with pytest.raises(osb.NotFound):
        broker.last_operation("never-existed")
    wrong = OSBClient(
        broker.base_url, username="broker", password="nope", transport=broker._http._transport
    )  # noqa: SLF001 - same app, other credentials
    with pytest.raises(osb.Unauthorized):
        wrong.catalog()
    old = OSBClient(
        broker.base_url,
        username="broker",
        password="broker",
        api_version="2.12",
        transport=broker._http._transport,
    )  # noqa: SLF001
    with pytest.raises(osb.PreconditionFailed):
        old.catalog()


def test_the_admin_api_reports_state_journal_and_faults(broker: OSBClient) -> None:
    service, plan = ids(broker, "mock-database", "small")
    broker.provision("i-4", service, plan, organization_guid="o", space_guid="s")
    state = broker.state()
    assert [entry["id"] for entry in state["instances"]] == ["i-4"]
    journal = broker.requests(operation="provision")
    (entry,) = journal
    assert entry["instance_id"] == "i-4" and entry["status"] == 201
    assert entry["originating_identity"] == {
        "platform": "kubernetes",
        "value": {"username": "alice", "uid": ""},
    }
    assert broker.requests(since=entry["id"], operation="provision") == []
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
    broker.delete_faults()
    assert broker.fetch_instance("i-4").status == 200
    broker.reset()
    assert broker.state()["instances"] == [] and broker.requests() == []


def test_manual_operations_are_finished_through_the_admin_api(broker: OSBClient) -> None:
    service, plan = ids(broker, "mock-async", "manual")
    accepted = broker.provision(
        "i-5", service, plan, organization_guid="o", space_guid="s", accepts_incomplete=True
    )
    assert accepted.operation is not None
    finished = broker.finish_operation(accepted.operation, "failed", "no capacity")
    assert finished["state"] == "failed"
    assert broker.last_operation("i-5", operation=accepted.operation).description == "no capacity"
    with pytest.raises(osb.Conflict):
        broker.finish_operation(accepted.operation, "succeeded")
    with pytest.raises(osb.NotFound):
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
    with pytest.raises(osb.BadRequest) as raised:
        broker.put_catalog({"services": [{"name": "broken"}]})
    assert raised.value.description
