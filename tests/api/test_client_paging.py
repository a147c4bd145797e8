"""The admin client's iterators read every page of the paged admin endpoints, in order,
against the real application in-process."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from flask import Flask

from broker.app import create_app
from broker.client import AdminClient, OSBClient
from broker.config import Settings


@pytest.fixture
def broker(app: Flask) -> Iterator[OSBClient]:
    with OSBClient(
        "http://broker.test",
        username="broker",
        password="broker",
        admin_username="admin",
        admin_password="admin-secret",
        transport=httpx.WSGITransport(app=app),
    ) as client:
        yield client


def provision(broker: OSBClient, count: int, plan: str = "sync") -> list[str]:
    offering, chosen = broker.catalog().plan("mock-async", plan)
    made = [f"i-{number}" for number in range(count)]
    for instance_id in made:
        broker.provision(
            instance_id,
            offering["id"],
            chosen["id"],
            organization_guid="o",
            space_guid="s",
            accepts_incomplete=True,
        )
    return made


def test_iter_journal_follows_next_through_every_page_oldest_first(broker: OSBClient) -> None:
    provision(broker, 7)
    whole = broker.journal(since=0)
    paged = list(broker.iter_journal(page_size=2))
    assert [entry["id"] for entry in paged] == [entry["id"] for entry in whole]
    assert len(paged) == 8  # the catalog and seven provisions


def test_iter_journal_applies_filters_and_a_since(broker: OSBClient) -> None:
    provision(broker, 5)
    provisions = broker.journal(operation="provision")
    after_second = list(
        broker.iter_journal(operation="provision", since=provisions[1]["id"], page_size=1)
    )
    assert [entry["instance_id"] for entry in after_second] == ["i-2", "i-3", "i-4"]
    with pytest.raises(TypeError, match="opration"):
        next(broker.iter_journal(opration="provision"))


def test_iter_journal_ends_even_when_its_own_requests_are_journaled(
    settings: Settings,
) -> None:
    app = create_app(settings.replace(journal_admin=True))
    with OSBClient(
        "http://broker.test",
        username="broker",
        password="broker",
        admin_username="admin",
        admin_password="admin-secret",
        transport=httpx.WSGITransport(app=app),
    ) as broker:
        provision(broker, 3)
        first = list(broker.iter_journal(page_size=1))
        second = list(broker.iter_journal(page_size=1))
    # The second read sees the first one's page requests, and ends all the same.
    assert [entry["id"] for entry in second[: len(first)]] == [entry["id"] for entry in first]
    assert len(second) > len(first)
    assert {entry["path"] for entry in second[len(first) :]} == {"/admin/requests"}


def test_iter_state_reads_every_page_in_creation_order(broker: OSBClient) -> None:
    made = provision(broker, 5)
    pages = list(broker.iter_state(page_size=2))
    assert len(pages) == 3
    assert "next" in pages[0] and "next" not in pages[-1]
    assert [record["instance_id"] for page in pages for record in page["instances"]] == made
    assert [record["instance_id"] for record in broker.state()["instances"]] == made


def test_iter_operations_reads_every_operation_newest_first(broker: OSBClient) -> None:
    provision(broker, 5, plan="manual")
    every = list(broker.iter_operations(page_size=2))
    assert [operation["instance_id"] for operation in every] == [f"i-{n}" for n in range(4, -1, -1)]
    assert list(broker.iter_operations(state="succeeded", page_size=2)) == []


def test_the_admin_client_alone_shares_nothing_with_an_osb_client(app: Flask) -> None:
    with AdminClient(
        "http://broker.test",
        username="admin",
        password="admin-secret",
        transport=httpx.WSGITransport(app=app),
    ) as admin:
        rule = admin.add_fault(operation="bind", times=1, status=500)
        assert [found["id"] for found in admin.faults(origin="admin")] == [rule]
        assert list(admin.iter_journal()) == []
    assert admin.connection.closed
