"""The fixture's client calls the session's broker in-process, and nothing a test sees
changes: the journal records the request as sent over HTTP, and fault rules that need
a socket (hang, drop, a delay past the client's timeout) end as they do over HTTP."""

from __future__ import annotations

import time

import pytest

from broker.client import BrokerTimeout, BrokerUnreachable
from broker.client.connection import auth_header
from broker.testing.in_process import InProcessTransport

# What differs between two requests by nature, not by transport.
VARYING = {"id", "time", "epoch", "request_id", "duration_ms"}


def _recorded(entry: dict[str, object]) -> dict[str, object]:
    return {key: value for key, value in entry.items() if key not in VARYING}


def test_the_fixture_client_sends_no_request_over_a_socket(osb_broker):
    transport = osb_broker.client.connection._http._transport
    assert isinstance(transport, InProcessTransport)


def test_the_journal_records_an_in_process_request_as_one_sent_over_http(osb_broker):
    service_id, plan_id = osb_broker.ids("mock-async", "sync")
    before = len(osb_broker.journal())
    over_http = osb_broker.endpoint.client()
    try:
        for client in (osb_broker.client, over_http):
            client.connection.headers = {"X-Correlation-ID": "same"}
            client.provision(
                "in-1",
                service_id,
                plan_id,
                organization_guid="o",
                space_guid="s",
                accepts_incomplete=True,
            )
            client.deprovision("in-1", service_id, plan_id)
            client.catalog()
    finally:
        over_http.close()
    entries = [_recorded(entry) for entry in osb_broker.journal()[before:]]
    assert len(entries) == 6
    assert entries[:3] == entries[3:]
    assert entries[0]["headers"]["X-Correlation-Id"] == "same"


def test_a_percent_encoded_path_reaches_the_broker_decoded(osb_broker):
    client = osb_broker.client
    service_id, plan_id = osb_broker.ids("mock-async", "sync")
    client.provision("with space é", service_id, plan_id, organization_guid="o", space_guid="s")
    assert [i["instance_id"] for i in osb_broker.state()["instances"]] == ["with space é"]


def test_a_hang_ends_at_the_client_timeout(osb_broker):
    osb_broker.add_fault(operation="catalog", times=1, hang=True)
    osb_broker.client.connection.timeout = 0.5
    started = time.monotonic()
    with pytest.raises(BrokerTimeout):
        osb_broker.client.catalog()
    assert 0.4 < time.monotonic() - started < 5
    [entry] = osb_broker.journal(operation="catalog")
    assert entry["status"] is None


def test_a_delay_past_the_client_timeout_is_a_timeout(osb_broker):
    osb_broker.add_fault(operation="catalog", times=1, delay_ms=3000)
    osb_broker.client.connection.timeout = 0.3
    with pytest.raises(BrokerTimeout):
        osb_broker.client.catalog()
    osb_broker.client.connection.timeout = 30
    assert osb_broker.client.catalog().services


def test_a_short_delay_answers(osb_broker):
    osb_broker.add_fault(operation="catalog", times=1, delay_ms=50)
    started = time.monotonic()
    assert osb_broker.client.catalog().services
    assert time.monotonic() - started >= 0.05


def test_a_dropped_connection_is_a_transport_error(osb_broker):
    osb_broker.add_fault(operation="catalog", times=1, drop_connection=True)
    with pytest.raises(BrokerUnreachable, match="RemoteProtocolError"):
        osb_broker.client.catalog()
    assert [entry["status"] for entry in osb_broker.journal()] == [None]


def test_an_answer_keeps_its_status_headers_and_body(osb_broker):
    connection = osb_broker.client.connection
    sent = {**auth_header(*osb_broker.auth, None), "X-Broker-API-Version": "2.17"}
    first = connection.send("GET", "/v2/catalog", headers=sent)
    etag = first.headers["ETag"]
    again = connection.send("GET", "/v2/catalog", headers={**sent, "If-None-Match": etag})
    assert (first.status_code, again.status_code) == (200, 304)
    assert first.headers["Content-Type"] == "application/json"
    assert first.json()["services"]
    assert again.content == b""
