"""The ``parameters`` credential backend: user-provided credentials from provision and bind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from broker.app import create_app
from broker.config import Settings
from broker.credentials.parameters import ParametersBackend
from tests.support.leftovers import recorded
from tests.support.osb import OSB

SERVICE = "user-provided-service"
URI = {"uri": "https://user:secret@api.example.test"}


def test_required_keys_type_and_provider_are_accepted_options() -> None:
    options = {"required": ["uri"], "type": "api", "provider": "example"}

    assert ParametersBackend.option_problems(options) == []


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"required": "uri"}, ("required", "Not a valid list.")),
        ({"required": [""]}, ("required[0]", "Shorter than minimum length 1.")),
        ({"type": 3}, ("type", "Not a valid string.")),
        ({"credentials": {}}, ("credentials", "unknown option (known: provider, required, type)")),
    ],
)
def test_unusable_options_are_named_with_the_reason(
    options: dict, problem: tuple[str, str]
) -> None:
    assert ParametersBackend.option_problems(options) == [problem]


def test_a_binding_returns_the_credentials_given_at_provision(osb: OSB) -> None:
    assert osb.provision("ups-1", SERVICE, "default", parameters={"credentials": URI}).status == 201

    answer = osb.bind("ups-1", "ups-b1", SERVICE, "default")

    assert answer.status == 201, answer.json
    assert answer.json["credentials"] == URI


def test_bind_credentials_override_and_extend_the_provision_credentials(osb: OSB) -> None:
    osb.provision("ups-2", SERVICE, "default", parameters={"credentials": {**URI, "region": "eu"}})

    answer = osb.bind(
        "ups-2",
        "ups-b2",
        SERVICE,
        "default",
        parameters={"credentials": {"region": "us", "token": "t-1"}},
    )

    assert answer.status == 201, answer.json
    assert answer.json["credentials"] == {**URI, "region": "us", "token": "t-1"}


def test_credentials_may_come_from_the_bind_alone(osb: OSB) -> None:
    osb.provision("ups-3", SERVICE, "default")

    answer = osb.bind("ups-3", "ups-b3", SERVICE, "default", parameters={"credentials": URI})

    assert answer.status == 201, answer.json
    assert answer.json["credentials"] == URI


def test_provision_credentials_that_are_not_an_object_are_a_400_and_create_nothing(
    osb: OSB, app: Any
) -> None:
    answer = osb.provision("ups-4", SERVICE, "default", parameters={"credentials": "uri=https://x"})

    assert answer.status == 400
    assert answer.json == {
        "error": "InvalidParameters",
        "description": "parameters cannot be used by the parameters credential backend: "
        "parameters.credentials must be an object, got str",
    }
    assert recorded(app) == (set(), set())


def test_a_bind_without_any_credentials_is_a_400_and_creates_no_binding(osb: OSB, app: Any) -> None:
    osb.provision("ups-5", SERVICE, "default")

    answer = osb.bind("ups-5", "ups-b5", SERVICE, "default")

    assert answer.status == 400
    assert answer.json["error"] == "InvalidParameters"
    assert (
        "send parameters.credentials (an object) when provisioning the instance or when binding"
        in (answer.json["description"])
    )
    assert recorded(app) == ({"ups-5"}, set())


def test_bind_credentials_that_are_not_an_object_are_a_400(osb: OSB) -> None:
    osb.provision("ups-6", SERVICE, "default", parameters={"credentials": URI})

    answer = osb.bind("ups-6", "ups-b6", SERVICE, "default", parameters={"credentials": ["uri"]})

    assert answer.status == 400
    assert "parameters.credentials must be an object, got list" in answer.json["description"]


def test_an_update_to_credentials_that_are_not_an_object_is_a_400_and_changes_nothing(
    osb: OSB,
) -> None:
    osb.provision("ups-7", SERVICE, "default", parameters={"credentials": URI})
    service_id, _ = osb.ids(SERVICE, "default")

    answer = osb.patch(
        "/v2/service_instances/ups-7", {"service_id": service_id, "parameters": {"credentials": 42}}
    )

    assert answer.status == 400
    assert answer.json["error"] == "InvalidParameters"
    assert osb.bind("ups-7", "ups-b7", SERVICE, "default").json["credentials"] == URI


def test_an_update_changes_the_credentials_of_later_bindings(osb: OSB) -> None:
    osb.provision("ups-8", SERVICE, "default", parameters={"credentials": URI})
    before = osb.bind("ups-8", "ups-b8", SERVICE, "default").json["credentials"]
    service_id, _ = osb.ids(SERVICE, "default")

    answer = osb.patch(
        "/v2/service_instances/ups-8",
        {"service_id": service_id, "parameters": {"credentials": {"uri": "https://new.test"}}},
    )

    assert answer.status == 200, answer.json
    assert osb.bind("ups-8", "ups-b8b", SERVICE, "default").json["credentials"] == {
        "uri": "https://new.test"
    }
    assert (
        osb.get("/v2/service_instances/ups-8/service_bindings/ups-b8").json["credentials"] == before
    )


@pytest.fixture
def strict_catalog(tmp_path: Path) -> Path:
    plan = {
        "name": "strict",
        "description": "needs a uri",
        "mockbroker": {
            "credentials": {
                "backend": "parameters",
                "options": {"required": ["uri"], "type": "api", "provider": "example"},
            }
        },
    }
    path = tmp_path / "strict.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "services": [
                    {"name": "strict-ups", "description": "d", "bindable": True, "plans": [plan]}
                ]
            }
        )
    )
    return path


def test_required_keys_are_checked_and_type_and_provider_filled_in(
    settings: Settings, strict_catalog: Path
) -> None:
    osb = OSB(create_app(settings.replace(catalogs=(strict_catalog,))).test_client())
    osb.provision("ups-9", "strict-ups", "strict", parameters={"credentials": {"token": "t"}})

    missing = osb.bind("ups-9", "ups-b9", "strict-ups", "strict")
    given = osb.bind(
        "ups-9",
        "ups-b9b",
        "strict-ups",
        "strict",
        parameters={"credentials": {"uri": "https://x.test", "type": "custom"}},
    )

    assert missing.status == 400
    assert "credentials lack the required key(s) uri" in missing.json["description"]
    assert given.status == 201, given.json
    assert given.json["credentials"] == {
        "token": "t",
        "uri": "https://x.test",
        "type": "custom",
        "provider": "example",
    }
