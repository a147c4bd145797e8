"""Settings behind the OSB rules: precedence, parsing, and refusals with clear messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from broker.config import BasicCredential, Settings, SettingsError, load_settings


def test_defaults_are_the_documented_ones(tmp_path: Path) -> None:
    settings = load_settings(env={})
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert (settings.username, settings.password) == ("broker", "broker")
    assert settings.missing_version_status == 412
    assert settings.max_body_bytes == 1024 * 1024
    assert settings.bearer_tokens == ()
    assert settings.store_url == "sqlite:///.mockbroker/broker.db"
    assert settings.admin_credentials == (BasicCredential("broker", "broker"),)


def test_file_then_environment_then_flags_win(tmp_path: Path) -> None:
    config = tmp_path / "broker.yaml"
    config.write_text("port: 9000\nusername: from-file\nmissing_version_status: 400\nthreads: 3\n")
    env = {"BROKER_CONFIG": str(config), "BROKER_PORT": "9100", "BROKER_USERNAME": "from-env"}
    settings = load_settings(env=env, username="from-flag")
    assert settings.port == 9100
    assert settings.username == "from-flag"
    assert settings.missing_version_status == 400
    assert settings.threads == 3


@pytest.mark.parametrize("value, expected", [("400", 400), ("412", 412), (400, 400)])
def test_missing_version_status_is_400_or_412(value: object, expected: int) -> None:
    assert load_settings(env={}, missing_version_status=value).missing_version_status == expected


@pytest.mark.parametrize("value", ["404", "200", "abc", "4.12"])
def test_any_other_missing_version_status_is_refused(value: str) -> None:
    with pytest.raises(SettingsError, match="BROKER_MISSING_VERSION_STATUS"):
        load_settings(env={"BROKER_MISSING_VERSION_STATUS": value})


def test_several_users_are_parsed_from_the_environment() -> None:
    settings = load_settings(env={"BROKER_USERS": "ci:ci-pw, cf:cf:with:colons"})
    assert settings.users == (
        BasicCredential("ci", "ci-pw"),
        BasicCredential("cf", "cf:with:colons"),
    )
    assert len(settings.osb_credentials) == 3


def test_users_are_parsed_from_a_config_file_list(tmp_path: Path) -> None:
    config = tmp_path / "broker.yaml"
    config.write_text("users:\n  - {username: ci, password: ci-pw}\n  - cf:cf-pw\n")
    settings = load_settings(config, env={})
    assert settings.users == (BasicCredential("ci", "ci-pw"), BasicCredential("cf", "cf-pw"))


@pytest.mark.parametrize("value", ["nocolon", ":pw", "user:"])
def test_a_user_without_name_or_password_is_refused(value: str) -> None:
    with pytest.raises(SettingsError, match="BROKER_USERS"):
        load_settings(env={"BROKER_USERS": value})


def test_bearer_tokens_are_comma_separated() -> None:
    settings = load_settings(env={"BROKER_BEARER_TOKENS": "one, two,three"})
    assert settings.bearer_tokens == ("one", "two", "three")


def test_passwords_and_tokens_never_show_in_the_settings_repr() -> None:
    settings = load_settings(
        env={
            "BROKER_PASSWORD": "s3cret-pw",
            "BROKER_BEARER_TOKENS": "tok-3cret",
            "BROKER_USERS": "ci:ci-s3cret",
            "BROKER_ADMIN_PASSWORD": "adm-s3cret",
            "BROKER_POSTGRES_URL": "postgresql://admin:pg-s3cret@db/postgres",
        }
    )
    text = repr(settings)
    for secret in ("s3cret-pw", "tok-3cret", "ci-s3cret", "adm-s3cret", "pg-s3cret"):
        assert secret not in text


@pytest.mark.parametrize("value", ["100", "abc", "-1"])
def test_a_body_limit_below_one_kibibyte_is_refused(value: str) -> None:
    with pytest.raises(SettingsError, match="BROKER_MAX_BODY_BYTES"):
        load_settings(env={"BROKER_MAX_BODY_BYTES": value})


def test_an_unknown_setting_in_the_config_file_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "broker.yaml"
    config.write_text("missing_version_stauts: 400\n")
    with pytest.raises(SettingsError, match="missing_version_stauts: unknown setting"):
        load_settings(config, env={})


def test_a_config_file_that_is_not_yaml_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "broker.yaml"
    config.write_text("port: [9000\n")
    with pytest.raises(SettingsError, match="not valid YAML"):
        load_settings(config, env={})


@pytest.mark.parametrize("url", ["memory", "memory://", "sqlite:////tmp/x.db"])
def test_supported_stores_are_accepted(url: str) -> None:
    assert load_settings(env={"BROKER_STORE": url}).store_url.startswith(url.split(":")[0])


def test_an_unsupported_store_is_refused() -> None:
    with pytest.raises(SettingsError, match="unsupported store"):
        load_settings(env={"BROKER_STORE": "mongodb://localhost"})


def test_the_default_password_is_refused_off_loopback() -> None:
    with pytest.raises(SettingsError, match="BROKER_PASSWORD"):
        load_settings(env={"BROKER_HOST": "0.0.0.0"}).check_serving()
    load_settings(env={"BROKER_HOST": "0.0.0.0", "BROKER_PASSWORD": "chosen"}).check_serving()
    load_settings(env={"BROKER_HOST": "::1"}).check_serving()


@pytest.mark.parametrize("given", ["::1", "[::1]"])
def test_an_ipv6_host_is_stored_bare_and_bracketed_in_the_base_url(given: str) -> None:
    for settings in (load_settings(env={}, host=given), load_settings(env={"BROKER_HOST": given})):
        assert settings.host == "::1"
        assert settings.base_url == "http://[::1]:8080"
        settings.check_serving()
    assert load_settings(env={}, host="0.0.0.0").base_url == "http://0.0.0.0:8080"


def test_the_memory_store_is_refused_with_several_workers() -> None:
    with pytest.raises(SettingsError, match="memory://"):
        load_settings(env={"BROKER_STORE": "memory://", "BROKER_WORKERS": "2"}).check_serving()
    load_settings(env={"BROKER_STORE": "memory://"}).check_serving()


def test_the_data_dir_places_the_default_sqlite_store(tmp_path: Path) -> None:
    settings = load_settings(env={"BROKER_DATA_DIR": str(tmp_path / "state")})
    assert settings.store_url == f"sqlite:///{tmp_path / 'state' / 'broker.db'}"


def test_settings_are_immutable_and_replace_builds_a_variant() -> None:
    settings = Settings()
    variant = settings.replace(missing_version_status=400)
    assert (settings.missing_version_status, variant.missing_version_status) == (412, 400)
    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]


def test_every_password_setting_reads_as_the_text_given() -> None:
    settings = load_settings(
        env={"BROKER_PASSWORD": "osb-secret", "BROKER_ADMIN_PASSWORD": "admin-secret"}
    )
    assert (settings.password, settings.admin_password) == ("osb-secret", "admin-secret")
