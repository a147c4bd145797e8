"""The fake credential backend: realistic, unique per binding, reproducible with a seed."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any
from urllib.parse import unquote, urlsplit

from broker.app import create_app
from broker.config import Settings
from broker.credentials.base import BindingRequest, InstanceRequest
from broker.credentials.fake import FakeBackend
from tests.support.osb import OSB


def credentials(
    osb: OSB, instance_id: str, binding_id: str, service: str = "mock-database", plan: str = "small"
) -> dict[str, Any]:
    if osb.get(f"/v2/service_instances/{instance_id}").status == 404:
        assert osb.provision(instance_id, service, plan).status == 201
    answer = osb.bind(instance_id, binding_id, service, plan)
    assert answer.status == 201, answer.text
    found: dict[str, Any] = answer.json["credentials"]
    return found


def test_database_credentials_are_consistent_with_their_uri(osb: OSB) -> None:
    found = credentials(osb, "cr-1", "cr-1-a")
    uri = urlsplit(found["uri"])
    assert uri.scheme == found["type"] == "postgresql"
    assert uri.hostname == found["host"] == "mockdatabase.mockbroker.test"
    assert uri.port == found["port"] == 5432
    assert unquote(uri.username or "") == found["username"]
    assert unquote(uri.password or "") == found["password"]
    assert uri.path == "/" + found["database"]
    assert re.fullmatch(r"u_[a-z0-9]{12}", found["username"])
    assert re.fullmatch(r"[A-Za-z0-9]{24}", found["password"])


def test_the_database_is_the_instance_s_and_shared_by_its_bindings(osb: OSB) -> None:
    first = credentials(osb, "cr-2", "cr-2-a")
    second = credentials(osb, "cr-2", "cr-2-b")
    assert first["database"] == second["database"] == "db_cr2"
    other = credentials(osb, "cr-3", "cr-3-a")
    assert other["database"] != first["database"]


def test_every_binding_gets_its_own_username_and_password(osb: OSB) -> None:
    seen_users, seen_passwords = set(), set()
    for index in range(20):
        found = credentials(osb, "cr-4", f"cr-4-{index}")
        seen_users.add(found["username"])
        seen_passwords.add(found["password"])
    assert len(seen_users) == len(seen_passwords) == 20


def test_a_seed_makes_credentials_reproducible(settings: Settings) -> None:
    def run(seed: str | None) -> dict[str, Any]:
        osb = OSB(create_app(settings.replace(credential_seed=seed)).test_client())
        return credentials(osb, "cr-5", "cr-5-a")

    assert run("seed-a") == run("seed-a")
    assert run("seed-a") != run("seed-b")
    assert run(None) != run(None)


def test_seeded_credentials_do_not_depend_on_request_order(settings: Settings) -> None:
    first = OSB(create_app(settings).test_client())
    second = OSB(create_app(settings).test_client())
    a1, b1 = credentials(first, "cr-6", "cr-6-a"), credentials(first, "cr-6", "cr-6-b")
    b2, a2 = credentials(second, "cr-6", "cr-6-b"), credentials(second, "cr-6", "cr-6-a")
    assert (a1, b1) == (a2, b2)


def test_the_scheme_and_port_come_from_the_plan(osb: OSB) -> None:
    found = credentials(osb, "cr-7", "cr-7-a", "cloud-provider-service", "premium")
    assert found["type"] == "amqp"
    assert found["port"] == 5672
    assert found["uri"].startswith("amqp://")


def test_the_cloud_provider_service_hands_out_a_service_account_key_json(osb: OSB) -> None:
    found = credentials(osb, "cr-8", "cr-8-a", "cloud-provider-service", "premium")
    key = found["key.json"]
    assert isinstance(key, dict)
    json.dumps(key)  # serialisable as the file the demo app reads
    assert key["type"] == "service_account"
    assert key["project_id"] == "mockbroker-demo"
    assert re.fullmatch(r"[0-9a-f]{40}", key["private_key_id"])
    assert key["private_key"].startswith("-----BEGIN PRIVATE KEY-----\n")
    assert key["private_key"].endswith("-----END PRIVATE KEY-----\n")
    assert key["client_email"] == f"{found['username']}@mockbroker-demo.iam.mockbroker.test"
    assert key["queue_uri"] == found["uri"]


def test_the_walkthrough_plan_binds_after_its_async_provision(osb: OSB) -> None:
    created = osb.provision(
        "cr-9", "cloud-provider-service", "service-plan-name", accepts_incomplete=True
    )
    assert created.status == 202
    assert osb.poll("cr-9").json["state"] == "succeeded"
    bound = osb.bind("cr-9", "cr-9-a", "cloud-provider-service", "service-plan-name")
    key = bound.json["credentials"]["key.json"]
    assert re.fullmatch(r"\d{21}", key["client_id"])
    assert key["token_uri"].startswith("https://")


def test_key_json_differs_per_binding(osb: OSB) -> None:
    first = credentials(osb, "cr-10", "cr-10-a", "cloud-provider-service", "premium")["key.json"]
    second = credentials(osb, "cr-10", "cr-10-b", "cloud-provider-service", "premium")["key.json"]
    assert first["private_key"] != second["private_key"]
    assert first["private_key_id"] != second["private_key_id"]
    assert first["client_email"] != second["client_email"]


def test_the_uri_escapes_the_database_and_brackets_an_ipv6_host() -> None:
    options = {"scheme": "postgresql", "host": "::1", "port": 5433, "database": "my db/x?y"}
    instance = InstanceRequest("cr-11", "s", "service", "p", "plan", options)
    state = FakeBackend(seed="tests").provision(instance)
    bound = FakeBackend(seed="tests").bind(
        BindingRequest(dataclasses.replace(instance, state=state), "cr-11-a")
    )
    found = bound.credentials
    assert (found["host"], found["port"], found["database"]) == ("::1", 5433, "my db/x?y")
    assert found["uri"].endswith("@[::1]:5433/my%20db%2Fx%3Fy")
    uri = urlsplit(found["uri"])
    assert (uri.hostname, uri.port) == ("::1", 5433)
    assert unquote(uri.path.removeprefix("/")) == found["database"]
    assert unquote(uri.username or "") == found["username"]
    assert unquote(uri.password or "") == found["password"]
