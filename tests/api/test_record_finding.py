"""record_finding(): how code handling a request records a rule the checks cannot see."""

from __future__ import annotations

import pytest
from flask import Flask

from broker.platform_checks import RequestFindings, record_finding
from broker.web.runtime import runtime_of
from tests.support.osb import OSB


@pytest.fixture
def flagging_fetch(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Instance fetches record operation-echo twice, as a handler that saw it would."""
    broker = runtime_of(app).broker
    original = broker.fetch_instance

    def fetch(instance_id: str) -> object:
        record_finding("operation-echo", instance_id=instance_id, summary="seen by the handler")
        record_finding("operation-echo", instance_id=instance_id)
        return original(instance_id)

    monkeypatch.setattr(broker, "fetch_instance", fetch)


@pytest.mark.usefixtures("flagging_fetch")
def test_a_finding_recorded_in_a_request_is_stored_once_with_its_journal_id(
    osb: OSB, admin: OSB
) -> None:
    osb.get("/v2/service_instances/i-1")
    request_id = admin.get("/admin/requests", query={"limit": 1}).json["requests"][-1]["id"]
    (finding,) = admin.get("/admin/findings").json["findings"]
    assert (finding["rule"], finding["instance_id"], finding["count"]) == (
        "operation-echo",
        "i-1",
        1,
    )
    assert finding["request_ids"] == [request_id]
    assert finding["summary"] == "seen by the handler"


def test_a_rule_the_announced_version_lacks_is_not_recorded(
    osb: OSB, admin: OSB, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker = runtime_of(app).broker
    original = broker.fetch_instance

    def fetch(instance_id: str) -> object:
        record_finding("id-reuse", instance_id=instance_id)  # a 2.16 rule
        return original(instance_id)

    monkeypatch.setattr(broker, "fetch_instance", fetch)
    OSB(osb.client, version="2.15").get("/v2/service_instances/i-1")
    assert admin.get("/admin/findings").json["findings"] == []
    OSB(osb.client, version="2.16").get("/v2/service_instances/i-1")
    assert [f["rule"] for f in admin.get("/admin/findings").json["findings"]] == ["id-reuse"]


def test_outside_an_osb_request_nothing_is_recorded(admin: OSB, app: Flask) -> None:
    with app.test_request_context():
        record_finding("id-reuse", instance_id="i-1")
    record_finding("id-reuse", instance_id="i-1")
    assert admin.get("/admin/findings").json["findings"] == []


def test_an_unknown_rule_id_is_a_key_error(app: Flask) -> None:
    with app.test_request_context(), pytest.raises(KeyError):
        record_finding("no-such-rule")


def test_a_recorder_object_reports_through_record_finding(
    osb: OSB, admin: OSB, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker = runtime_of(app).broker
    original = broker.fetch_instance
    recorder = RequestFindings()

    def fetch(instance_id: str) -> object:
        recorder.record("operation-echo", instance_id=instance_id, summary="from the protocol")
        return original(instance_id)

    monkeypatch.setattr(broker, "fetch_instance", fetch)
    osb.get("/v2/service_instances/i-9")
    (finding,) = admin.get("/admin/findings").json["findings"]
    assert (finding["rule"], finding["instance_id"], finding["summary"]) == (
        "operation-echo",
        "i-9",
        "from the protocol",
    )
