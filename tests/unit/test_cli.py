"""The ``mockbroker`` command: check-catalog on good and broken catalogs, serve refusing them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from broker import __version__
from broker.cli import main

ROOT = Path(__file__).resolve().parents[2]
BROKEN = Path(__file__).resolve().parents[1] / "catalogs" / "broken"

# Every broken catalog, with (YAML path, message fragment) pairs its check must report.
EXPECTED: dict[str, list[tuple[str, str]]] = {
    "duplicate-service-names.yaml": [("services[1].name", "duplicate service name 'twin'")],
    "duplicate-plan-names.yaml": [
        ("services[0].plans[1].name", "duplicate plan name 'small' in doubled-plans")
    ],
    "duplicate-ids.yaml": [
        ("services[0].plans[0].id", "duplicate id '11111111-2222-3333-4444-555555555555'")
    ],
    "no-plans.yaml": [("services[0].plans", "at least one plan")],
    "bad-types.yaml": [
        ("services[0].bindable", "must be true or false"),
        ("services[0].tags", "must be a list"),
        ("services[0].plans[0].free", "must be true or false"),
        ("services[0].plans[0].maximum_polling_duration", "must be a whole number"),
    ],
    "typo-keys.yaml": [
        ("services[0].plan_updatable", "did you mean 'plan_updateable'"),
        ("services[0].plans[0].descripton", "unknown field; did you mean 'description'?"),
    ],
    "invalid-json-schema.yaml": [
        (
            "services[0].plans[0].schemas.service_instance.create.parameters.properties.size.type",
            "not a valid JSON Schema",
        ),
    ],
    "missing-schema-key.yaml": [
        ("services[0].plans[0].schemas.service_binding.create.parameters", "'$schema' is required"),
    ],
    "unknown-schema-draft.yaml": [
        (
            "services[0].plans[0].schemas.service_instance.create.parameters.$schema",
            "unknown JSON Schema draft",
        ),
    ],
    "remote-ref.yaml": [
        ("services[0].plans[0].schemas.service_instance.create.parameters", "remote $ref"),
    ],
    "nested-remote-ref.yaml": [
        (
            "services[0].plans[0].schemas.service_instance.update.parameters.properties.size.$ref",
            "is not allowed",
        ),
    ],
    "ref-escapes-folder.yaml": [
        (
            "services[0].plans[0].schemas.service_instance.create.parameters",
            "outside the catalog folder",
        ),
    ],
    "schema-over-64kb.yaml": [
        ("services[0].plans[0].schemas.service_instance.create.parameters", "at most 65536"),
    ],
    "requires-without-field.yaml": [("services[0].requires", "declares syslog_drain")],
    "field-without-requires.yaml": [("services[0].requires", "requires: [volume_mount]")],
    "bad-maintenance-version.yaml": [
        ("services[0].plans[0].maintenance_info.version", "Semantic Versioning"),
    ],
    "unknown-backend.yaml": [
        (
            "services[0].plans[0].mockbroker.credentials.backend",
            "unknown credential backend 'no-such-backend' (known: fake, ",
        ),
    ],
    "bad-knobs.yaml": [
        ("services[0].plans[0].mockbroker.provision.mode", "must be one of sync, async"),
        ("services[0].plans[0].mockbroker.provision.finish", ">= 0"),
        ("services[0].plans[0].mockbroker.provision.retry_after", "must be a whole number"),
        ("services[0].plans[0].mockbroker.update.finish", "{polls: N}"),
        ("services[0].plans[0].mockbroker.update.status", "400"),
        ("services[0].plans[0].mockbroker.parameters_on_update", "one of merge, replace"),
        ("services[0].plans[0].mockbroker.sometimes", "unknown field; known: "),
    ],
    "bad-knob-combinations.yaml": [
        ("services[0].plans[0].mockbroker.bind.instance_usable", "only update and deprovision"),
        ("services[0].plans[0].mockbroker.credentials.options.port", "between 1 and 65535"),
        ("services[0].plans[0].mockbroker.credentials.options.colour", "unknown option"),
        ("services[0].plans[0].mockbroker.binding.renew_before", "must not exceed expires_in"),
    ],
    "bad-fault-rule.yaml": [
        (
            "services[0].plans[0].mockbroker.faults[0].match.operation",
            "unknown operation 'frobnicate' (known: catalog",
        ),
        ("services[0].plans[0].mockbroker.faults[0].trigger.times", "must be at least 1"),
        ("services[0].plans[0].mockbroker.faults[0].action.status", "must be from 100 to 599"),
    ],
    "unknown-template-variable.yaml": [
        (
            "services[0].plans[0].mockbroker.credentials.extra.token",
            "unknown template variable ${no_such_variable}",
        ),
    ],
    "invalid-yaml.yaml": [("", "not valid YAML: line 5")],
    # Reported line by line in tests/unit/test_check_catalog_report.py.
    "every-mistake-at-once.yaml": [
        ("services[0].descripton", "did you mean 'description'?"),
        ("services[0].plans[0].mockbroker.credentials.backend", "did you mean 'postgres'?"),
    ],
}


def check(*paths: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["check-catalog", *map(str, paths)])
    return result.exit_code, result.output


def test_every_broken_catalog_has_an_expectation() -> None:
    assert sorted(path.name for path in BROKEN.glob("*.yaml")) == sorted(EXPECTED)


def test_the_bundled_catalogs_pass_the_check() -> None:
    code, output = check(ROOT / "catalogs")
    assert code == 0, output
    assert output.startswith("ok: ")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_broken_catalog_is_rejected_naming_file_and_yaml_path(name: str) -> None:
    path = BROKEN / name
    code, output = check(path)
    assert code == 1, output
    lines = output.splitlines()
    for yaml_path, fragment in EXPECTED[name]:
        prefix = f"{path}: {yaml_path}: " if yaml_path else f"{path}: "
        assert any(line.startswith(prefix) and fragment in line for line in lines), (
            f"no line starting {prefix!r} containing {fragment!r} in:\n{output}"
        )
    assert (
        f"{len([line for line in lines if line.startswith(str(path))])} problem(s) found" in output
    )


def test_problems_of_several_files_are_all_reported() -> None:
    code, output = check(BROKEN / "no-plans.yaml", BROKEN / "bad-types.yaml", ROOT / "catalogs")
    assert code == 1
    assert "no-plans.yaml: services[0].plans" in output
    assert "bad-types.yaml: services[0].bindable" in output


def test_names_and_ids_must_be_unique_across_files(tmp_path: Path) -> None:
    copy = tmp_path / "copy.yaml"
    copy.write_text((ROOT / "catalogs" / "bindings.yaml").read_text())
    code, output = check(ROOT / "catalogs" / "bindings.yaml", copy)
    assert code == 1
    assert f"{copy}: services[0].name: duplicate service name 'mock-log-drain'" in output


def test_a_missing_path_is_reported() -> None:
    code, output = check(Path("/nonexistent/catalog.yaml"))
    assert code == 1
    assert "/nonexistent/catalog.yaml: no such file or folder" in output


def run_cli(*args: str, tmp_path: Path, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("BROKER_")}
    environment["BROKER_DATA_DIR"] = str(tmp_path / "data")
    return subprocess.run(
        [sys.executable, "-m", "broker", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=timeout,
        cwd=tmp_path,
    )


@pytest.mark.parametrize("name", ["bad-types.yaml", "invalid-yaml.yaml", "remote-ref.yaml"])
def test_serve_refuses_to_start_with_an_invalid_catalog(tmp_path: Path, name: str) -> None:
    result = run_cli("serve", "--port", "0", "--catalog", str(BROKEN / name), tmp_path=tmp_path)
    assert result.returncode == 2
    assert "the catalogs are invalid" in result.stderr
    assert str(BROKEN / name) in result.stderr
    assert "listening on" not in result.stderr + result.stdout


def test_serve_refuses_an_invalid_catalog_given_by_environment(tmp_path: Path) -> None:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("BROKER_")}
    environment.update(
        {
            "BROKER_DATA_DIR": str(tmp_path / "data"),
            "BROKER_CATALOGS": str(BROKEN / "no-plans.yaml"),
        }
    )
    result = subprocess.run(
        [sys.executable, "-m", "broker", "serve", "--port", "0"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=30,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "no-plans.yaml: services[0].plans: " in result.stderr
    assert "at least one plan" in result.stderr


def test_python_dash_m_broker_is_the_same_command(tmp_path: Path) -> None:
    result = run_cli("--version", tmp_path=tmp_path)
    assert result.returncode == 0
    assert __version__ in result.stdout


def test_openapi_prints_the_document_of_the_http_api() -> None:
    result = CliRunner().invoke(main, ["openapi"])
    assert result.exit_code == 0
    document = json.loads(result.output)
    assert document["openapi"].startswith("3.")
    assert "/v2/catalog" in document["paths"]
