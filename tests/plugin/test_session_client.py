"""One client serves the whole session: each test gets it as a new client would be, and
a reset made by the fixture forgets what the test before made."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

SESSION_TESTS = """
import pytest

from broker.client import BrokerUnreachable, OriginatingIdentity

SEEN = []


def test_one_changes_what_it_may_change(osb_broker):
    client = osb_broker.client
    SEEN.append(client)
    client.identity = OriginatingIdentity("kubernetes", {"username": "alice"})
    client.api_version = "2.13"
    client.connection.headers = {"X-Correlation-ID": "first-test"}
    client.connection.timeout = 1.0
    service_id, plan_id = osb_broker.ids("mock-async", "sync")
    client.provision("left-behind", service_id, plan_id, organization_guid="o", space_guid="s")
    osb_broker.add_fault(operation="bind", status=500)


def test_two_gets_the_same_client_as_new_and_a_clean_broker(osb_broker):
    client = osb_broker.client
    assert client is SEEN[0]
    assert client.identity is None and client.api_version == "2.17"
    assert client.connection.headers == {} and client.connection.timeout == 30.0
    assert osb_broker.state()["instances"] == []
    assert osb_broker.faults(origin="admin") == []
    assert osb_broker.journal() == []
    osb_broker.client.catalog()
    assert [entry["headers"].get("X-Correlation-ID") for entry in osb_broker.journal()] == [None]
    client.close()


def test_three_gets_a_working_client_after_one_was_closed(osb_broker):
    assert osb_broker.client is not SEEN[0]
    assert osb_broker.client.catalog().services


def test_four_sees_a_dropped_connection_and_goes_on_with_a_new_one(osb_broker):
    osb_broker.add_fault(operation="catalog", times=1, drop_connection=True)
    with pytest.raises(BrokerUnreachable):
        osb_broker.client.catalog()
    assert osb_broker.client.catalog().services
    assert [entry["operation"] for entry in osb_broker.journal()] == ["catalog", "catalog"]
"""


def test_the_session_client_is_reused_and_put_back_for_every_test(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini("[pytest]\nfilterwarnings = error\n")
    pytester.makepyfile(test_session=SESSION_TESTS)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)
