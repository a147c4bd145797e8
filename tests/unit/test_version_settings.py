"""BROKER_OSB_VERSION and BROKER_STRICT: parsed once, refused with the setting's name."""

from __future__ import annotations

from pathlib import Path

import pytest

from broker.config import SettingsError, load_settings


def test_both_settings_default_to_the_announced_version_and_leniency() -> None:
    settings = load_settings(env={})
    assert settings.osb_version is None
    assert settings.strict is False


@pytest.mark.parametrize("text", ["2.11", "2.13", "2.17", " 2.15 "])
def test_a_known_version_pins_the_broker(text: str) -> None:
    settings = load_settings(env={"BROKER_OSB_VERSION": text})
    assert settings.osb_version == (2, int(text.strip()[2:]))


@pytest.mark.parametrize("text", ["2.10", "2.18", "3.0", "2", "latest", "2.13.0"])
def test_an_unknown_version_is_refused_naming_the_setting(text: str) -> None:
    with pytest.raises(SettingsError, match="BROKER_OSB_VERSION.*2.11, 2.12"):
        load_settings(env={"BROKER_OSB_VERSION": text})


def test_a_yaml_number_and_a_flag_are_read_like_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "broker.yaml"
    config.write_text("osb_version: 2.14\nstrict: true\n")
    settings = load_settings(config, env={})
    assert (settings.osb_version, settings.strict) == ((2, 14), True)
    flagged = load_settings(config, env={}, osb_version="2.16", strict=False)
    assert (flagged.osb_version, flagged.strict) == ((2, 16), False)


def test_strict_takes_the_usual_booleans() -> None:
    assert load_settings(env={"BROKER_STRICT": "true"}).strict is True
    with pytest.raises(SettingsError, match="BROKER_STRICT"):
        load_settings(env={"BROKER_STRICT": "sometimes"})
