"""A credential backend from another package, found through the entry-point group."""

from __future__ import annotations

import importlib
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from broker.app import create_app
from broker.cli import main
from broker.config import Settings, SettingsError, load_settings
from broker.credentials.base import CredentialBackend
from broker.credentials.registry import BUILTIN, ENTRY_POINT_GROUP, backend_classes
from tests.support.osb import OSB

BACKEND = '''
"""A backend shipped by someone else: credentials echo the ids it was given."""

from typing import Any, ClassVar

from broker.credentials.base import BackendSetting, BackendUnavailable, BindResult
from broker.setting_parsers import SettingsError, text


def one_word(value: Any, where: str) -> str:
    word = text(value, where)
    if not word.isalpha():
        raise SettingsError(f"{where}: a greeting is one word, got {value!r}")
    return word


GREETING = BackendSetting("echo_greeting", one_word, default="hello", help="how credentials greet")


class EchoBackend:
    name: ClassVar[str] = "echo"
    settings = (GREETING,)

    def __init__(self, greeting: str) -> None:
        self.greeting = greeting

    @classmethod
    def from_settings(cls, settings):
        return cls(settings.backend_setting(GREETING))

    @classmethod
    def option_problems(cls, options):
        unknown = sorted(set(options) - {"suffix"})
        return [(key, "unknown option") for key in unknown]

    def check(self) -> None:
        return None

    def provision(self, request) -> dict[str, Any]:
        return {"made_for": request.instance_id}

    def deprovision(self, request) -> None:
        return None

    def bind(self, request) -> BindResult:
        suffix = request.instance.options.get("suffix", "")
        return BindResult(
            credentials={
                "greeting": self.greeting + suffix,
                "instance": request.instance.state["made_for"],
                "binding": request.binding_id,
            }
        )

    def unbind(self, request) -> None:
        return None
'''

CATALOG = """
services:
  - name: echo-service
    description: Uses a credential backend from another package
    bindable: true
    plans:
      - name: default
        description: Echoes the ids
        mockbroker:
          credentials: {backend: echo, options: {suffix: ", world"}}
"""


@pytest.fixture
def third_party(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An installed distribution declaring ``echo`` in mockbroker's entry-point group."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "echo_backend.py").write_text(BACKEND)
    info = site / "echo_backend-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: echo-backend\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        textwrap.dedent(f"""
            [{ENTRY_POINT_GROUP}]
            echo = echo_backend:EchoBackend
        """)
    )
    monkeypatch.syspath_prepend(str(site))
    catalog = tmp_path / "echo.yaml"
    catalog.write_text(CATALOG)
    return catalog


def test_an_installed_package_adds_a_backend_by_entry_point(third_party: Path) -> None:
    assert backend_classes()["echo"].__module__ == "echo_backend"


def test_a_plan_uses_the_third_party_backend_through_the_osb_api(
    third_party: Path, settings: Settings
) -> None:
    osb = OSB(create_app(settings.replace(catalogs=(third_party,))).test_client())
    assert osb.provision("inst-1", "echo-service", "default").status == 201
    bound = osb.bind("inst-1", "bind-1", "echo-service", "default")
    assert bound.status == 201
    assert bound.json["credentials"] == {
        "greeting": "hello, world",
        "instance": "inst-1",
        "binding": "bind-1",
    }


def test_the_third_party_backend_reads_its_own_setting_from_its_variable(
    third_party: Path, settings: Settings
) -> None:
    loaded = load_settings(env={"BROKER_ECHO_GREETING": "howdy"})
    greeting = loaded.backend_settings["echo_greeting"]
    osb = OSB(
        create_app(settings.replace(catalogs=(third_party,), echo_greeting=greeting)).test_client()
    )
    assert osb.provision("inst-1", "echo-service", "default").status == 201
    bound = osb.bind("inst-1", "bind-1", "echo-service", "default")
    assert bound.json["credentials"]["greeting"] == "howdy, world"


def test_serve_refuses_a_malformed_third_party_setting_before_it_starts(
    third_party: Path, tmp_path: Path
) -> None:
    environment = {"BROKER_ECHO_GREETING": "two words", "BROKER_DATA_DIR": str(tmp_path)}
    result = CliRunner().invoke(main, ["serve"], env=environment)
    assert result.exit_code == 2
    assert "error: BROKER_ECHO_GREETING: a greeting is one word, got 'two words'" in (result.output)


def test_a_malformed_third_party_setting_is_refused_naming_its_variable(
    third_party: Path,
) -> None:
    with pytest.raises(SettingsError, match="BROKER_ECHO_GREETING: a greeting is one word"):
        load_settings(env={"BROKER_ECHO_GREETING": "good day"})
    with pytest.raises(SettingsError, match="config file .*: echo_greeting: a greeting"):
        config = third_party.parent / "broker.yaml"
        config.write_text("echo_greeting: 42\n")
        load_settings(config_file=config, env={})


def test_a_backend_setting_must_not_take_a_name_already_taken(
    third_party: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    echo_backend = importlib.import_module("echo_backend")  # on the path the fixture made
    clash = echo_backend.BackendSetting("postgres_url", echo_backend.one_word)
    monkeypatch.setattr(echo_backend.EchoBackend, "settings", (clash,))
    with pytest.raises(SettingsError, match="'echo' and 'postgres' both declare the setting"):
        load_settings(env={})
    monkeypatch.setattr(echo_backend.EchoBackend, "settings", (clash.__class__("port", str),))
    with pytest.raises(SettingsError, match="'port' \\(BROKER_PORT\\), which is one of the"):
        load_settings(env={})


def test_check_catalog_checks_the_third_party_backend_options(
    third_party: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["check-catalog", str(third_party)]).exit_code == 0
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(CATALOG.replace("suffix", "colour"))
    result = runner.invoke(main, ["check-catalog", str(wrong)])
    assert result.exit_code == 1
    assert "services[0].plans[0].mockbroker.credentials.options.colour: unknown option" in (
        result.output
    )


def test_every_built_in_backend_satisfies_the_backend_protocol() -> None:
    classes = backend_classes()
    for name in BUILTIN:
        backend = classes[name].from_settings(Settings(credential_seed="seed"))
        assert isinstance(backend, CredentialBackend), name
        assert type(backend).name == name
