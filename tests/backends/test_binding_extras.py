"""Binding fields beyond credentials: syslog drains, route services, volumes, endpoints, expiry."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from flask import Flask

from broker.app import create_app
from broker.config import Settings
from tests.support.clock import FakeClock
from tests.support.osb import OSB

ISO_8601 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\dZ$")


@pytest.fixture
def app(settings: Settings, clock: FakeClock) -> Flask:
    return create_app(settings, clock=clock)


def service(osb: OSB, name: str) -> dict[str, object]:
    found: dict[str, object] = next(
        s for s in osb.get("/v2/catalog").json["services"] if s["name"] == name
    )
    return found


def test_a_log_drain_binding_returns_its_syslog_drain_url(osb: OSB) -> None:
    osb.provision("x-1", "mock-log-drain", "default")
    answer = osb.bind("x-1", "x-1-a", "mock-log-drain", "default")
    assert answer.json["syslog_drain_url"] == "syslog-tls://logs.mockbroker.test:6514/x-1-a"
    assert answer.json["credentials"]["uri"].startswith("https://")
    assert service(osb, "mock-log-drain")["requires"] == ["syslog_drain"]


def test_a_route_binding_returns_a_route_service_url(osb: OSB) -> None:
    osb.provision("x-2", "mock-route-service", "default")
    answer = osb.bind(
        "x-2", "x-2-a", "mock-route-service", "default", bind_resource={"route": "app.example.test"}
    )
    assert answer.json["route_service_url"] == "https://route-proxy.mockbroker.test/x-2-a"
    assert service(osb, "mock-route-service")["requires"] == ["route_forwarding"]


def test_a_binding_without_a_route_gets_no_route_service_url(osb: OSB) -> None:
    osb.provision("x-3", "mock-route-service", "default")
    answer = osb.bind(
        "x-3", "x-3-a", "mock-route-service", "default", bind_resource={"app_guid": "app"}
    )
    assert answer.status == 201
    assert "route_service_url" not in answer.json


def test_a_volume_binding_returns_its_volume_mounts(osb: OSB) -> None:
    osb.provision("x-4", "mock-volume", "default")
    answer = osb.bind("x-4", "x-4-a", "mock-volume", "default")
    assert answer.json["volume_mounts"] == [
        {
            "driver": "mockdriver",
            "container_dir": "/var/vcap/data/mock",
            "mode": "rw",
            "device_type": "shared",
            "device": {"volume_id": "mock-volume", "mount_config": {"uid": "1000"}},
        }
    ]
    assert service(osb, "mock-volume")["requires"] == ["volume_mount"]


def test_endpoints_and_expiry_metadata_are_returned(osb: OSB, clock: FakeClock) -> None:
    osb.provision("x-5", "mock-rotating-credentials", "default")
    answer = osb.bind("x-5", "x-5-a", "mock-rotating-credentials", "default")
    assert answer.json["endpoints"] == [
        {"host": "api.mockbroker.test", "ports": ["443"], "protocol": "tcp"}
    ]
    metadata = answer.json["metadata"]
    assert ISO_8601.match(metadata["expires_at"]) and ISO_8601.match(metadata["renew_before"])

    def parse(value: str) -> float:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()

    assert parse(metadata["expires_at"]) == pytest.approx(clock.now + 3600, abs=0.1)
    assert parse(metadata["renew_before"]) == pytest.approx(clock.now + 3000, abs=0.1)
    assert metadata["renew_before"] <= metadata["expires_at"]


def test_the_extras_come_back_on_fetch(osb: OSB) -> None:
    osb.provision("x-6", "mock-rotating-credentials", "default")
    created = osb.bind("x-6", "x-6-a", "mock-rotating-credentials", "default")
    fetched = osb.get("/v2/service_instances/x-6/service_bindings/x-6-a")
    assert fetched.json == {**created.json, "parameters": {}}


def test_extras_are_unique_per_binding(osb: OSB) -> None:
    osb.provision("x-7", "mock-log-drain", "default")
    first = osb.bind("x-7", "x-7-a", "mock-log-drain", "default").json
    second = osb.bind("x-7", "x-7-b", "mock-log-drain", "default").json
    assert first["syslog_drain_url"] != second["syslog_drain_url"]
    assert first["credentials"]["password"] != second["credentials"]["password"]


def test_plain_bindings_carry_no_extras(osb: OSB) -> None:
    osb.provision("x-8", "mock-database", "small")
    answer = osb.bind("x-8", "x-8-a", "mock-database", "small")
    assert set(answer.json) == {"credentials"}
