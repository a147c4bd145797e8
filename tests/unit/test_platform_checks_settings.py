"""BROKER_PLATFORM_CHECKS, BROKER_ORPHAN_MITIGATION_WINDOW and
BROKER_PLATFORM_CHECKS_REMEMBERED_IDS: defaults, parsing, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from broker.config import SettingsError, load_settings


def test_checks_are_on_with_a_60_second_window_by_default() -> None:
    settings = load_settings(env={})
    assert (settings.platform_checks, settings.orphan_mitigation_window) == (True, 60)


@pytest.mark.parametrize(("value", "expected"), [("on", True), ("off", False), ("OFF", False)])
def test_checks_are_switched_by_on_and_off(value: str, expected: bool) -> None:
    assert load_settings(env={"BROKER_PLATFORM_CHECKS": value}).platform_checks is expected


def test_the_config_file_sets_both(tmp_path: Path) -> None:
    config = tmp_path / "broker.yaml"
    config.write_text("platform_checks: off\norphan_mitigation_window: 5\n")
    settings = load_settings(config, env={})
    assert (settings.platform_checks, settings.orphan_mitigation_window) == (False, 5)


def test_a_value_that_is_neither_on_nor_off_is_refused_by_name() -> None:
    with pytest.raises(SettingsError, match="BROKER_PLATFORM_CHECKS"):
        load_settings(env={"BROKER_PLATFORM_CHECKS": "sometimes"})


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_a_window_that_is_not_a_positive_number_of_seconds_is_refused(value: str) -> None:
    with pytest.raises(SettingsError, match="BROKER_ORPHAN_MITIGATION_WINDOW"):
        load_settings(env={"BROKER_ORPHAN_MITIGATION_WINDOW": value})


def test_ten_thousand_deleted_ids_are_remembered_by_default_and_the_env_sets_it() -> None:
    assert load_settings(env={}).platform_checks_remembered_ids == 10_000
    env = {"BROKER_PLATFORM_CHECKS_REMEMBERED_IDS": "25"}
    assert load_settings(env=env).platform_checks_remembered_ids == 25


@pytest.mark.parametrize("value", ["0", "-5", "many"])
def test_a_bound_that_is_not_a_positive_number_is_refused(value: str) -> None:
    with pytest.raises(SettingsError, match="BROKER_PLATFORM_CHECKS_REMEMBERED_IDS"):
        load_settings(env={"BROKER_PLATFORM_CHECKS_REMEMBERED_IDS": value})
