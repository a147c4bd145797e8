"""The ``static`` credential backend: catalog credentials, templates rendered per binding."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from broker.app import create_app
from broker.catalog.loader import load_catalog
from broker.catalog.problems import CatalogError
from broker.config import Settings
from broker.credentials.registry import BackendRegistry
from broker.credentials.static import StaticBackend
from broker.faults.schemas import fault_rule_problems
from tests.support.osb import OSB

SERVICE = "mock-static-api"


def test_credentials_with_instance_and_binding_templates_are_accepted() -> None:
    options = {
        "credentials": {"uri": "https://x.test/${instance_id}", "key": "${random_hex:8}", "n": 1}
    }

    assert StaticBackend.option_problems(options) == []


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({}, ("credentials", "Missing data for required field.")),
        ({"credentials": {}}, ("credentials", "must hold at least one key")),
        ({"credentials": "user:pw"}, ("credentials", "Not a valid mapping type.")),
        ({"credentials": {"a": 1}, "extra": {}}, ("extra", "unknown option (known: credentials)")),
        (
            {"credentials": {"pw": "${password}"}},
            ("credentials.pw", "${password} has no value here"),
        ),
    ],
)
def test_unusable_options_are_named_with_the_reason(
    options: dict, problem: tuple[str, str]
) -> None:
    assert problem in StaticBackend.option_problems(options)


def test_an_unknown_template_variable_is_refused_when_the_catalog_loads(tmp_path: Path) -> None:
    catalog = tmp_path / "static.yaml"
    plan = {
        "name": "p",
        "description": "d",
        "mockbroker": {
            "credentials": {"backend": "static", "options": {"credentials": {"token": "${tokn}"}}}
        },
    }
    catalog.write_text(
        yaml.safe_dump(
            {"services": [{"name": "s", "description": "d", "bindable": True, "plans": [plan]}]}
        )
    )

    registry = BackendRegistry(Settings())
    with pytest.raises(CatalogError) as error:
        load_catalog(
            [catalog], backend_problems=registry.option_problems, fault_problems=fault_rule_problems
        )

    where = "services[0].plans[0].mockbroker.credentials.options.credentials.token"
    assert f"{where}: unknown template variable ${{tokn}}" in str(error.value)


def test_a_binding_gets_the_catalog_credentials_with_its_ids_filled_in(osb: OSB) -> None:
    assert osb.provision("static-1", SERVICE, "default").status == 201

    answer = osb.bind("static-1", "static-b1", SERVICE, "default")

    assert answer.status == 201, answer.json
    credentials = answer.json["credentials"]
    assert {key: credentials[key] for key in ("type", "provider", "uri", "tenant", "client")} == {
        "type": "api",
        "provider": "mockbroker",
        "uri": "https://api.mockbroker.test/v1",
        "tenant": "static-1",
        "client": "static-b1",
    }
    assert len(credentials["api_key"]) == 32


def test_generated_values_differ_per_binding_and_repeat_with_the_seed(
    osb: OSB, settings: Settings
) -> None:
    osb.provision("static-2", SERVICE, "default")
    first = osb.bind("static-2", "b1", SERVICE, "default").json["credentials"]["api_key"]
    second = osb.bind("static-2", "b2", SERVICE, "default").json["credentials"]["api_key"]
    again = OSB(create_app(settings).test_client())
    again.provision("static-2", SERVICE, "default")
    repeated = again.bind("static-2", "b1", SERVICE, "default").json["credentials"]["api_key"]

    assert first != second
    assert repeated == first
