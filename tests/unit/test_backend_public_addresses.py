"""Which host and port go into real credentials: catalog option > setting > admin URL."""

from __future__ import annotations

import pytest

from broker.config import Settings, SettingsError, load_settings
from broker.credentials.endpoints import Endpoint, credential_uri
from broker.credentials.mysql import MySQLBackend
from broker.credentials.postgres import PostgresBackend
from broker.credentials.redis import RedisBackend
from broker.credentials.server_backend import ServerBackend


def public_address(settings: Settings, backend: type[ServerBackend]) -> tuple[object, object]:
    """The public host and port ``settings`` give ``backend`` (its declared settings)."""
    _, host, port = (settings.backend_setting(declared) for declared in backend.settings)
    return host, port


def test_public_hosts_and_ports_are_read_from_the_environment() -> None:
    settings = load_settings(
        env={
            "BROKER_POSTGRES_PUBLIC_HOST": "127.0.0.1",
            "BROKER_POSTGRES_PUBLIC_PORT": "15432",
            "BROKER_MYSQL_PUBLIC_HOST": "db.local",
            "BROKER_MYSQL_PUBLIC_PORT": "13306",
            "BROKER_REDIS_PUBLIC_HOST": "cache.local",
            "BROKER_REDIS_PUBLIC_PORT": "16379",
        }
    )

    assert public_address(settings, PostgresBackend) == ("127.0.0.1", 15432)
    assert public_address(settings, MySQLBackend) == ("db.local", 13306)
    assert public_address(settings, RedisBackend) == ("cache.local", 16379)


def test_unset_public_addresses_default_to_nothing() -> None:
    settings = load_settings(env={})

    assert public_address(settings, PostgresBackend) == (None, None)


@pytest.mark.parametrize("value", ["0", "65536", "http", "5432.0"])
def test_an_unusable_public_port_names_the_variable(value: str) -> None:
    with pytest.raises(SettingsError, match="BROKER_REDIS_PUBLIC_PORT"):
        load_settings(env={"BROKER_REDIS_PUBLIC_PORT": value})


def test_the_catalog_option_beats_the_setting_which_beats_the_admin_url() -> None:
    admin = Endpoint("postgres", 5432)

    assert admin.public(None, None, {}) == Endpoint("postgres", 5432)
    assert admin.public("127.0.0.1", 15432, {}) == Endpoint("127.0.0.1", 15432)
    assert admin.public("127.0.0.1", 15432, {"host": "db.example", "port": 6432}) == Endpoint(
        "db.example", 6432
    )
    assert admin.public("127.0.0.1", None, {"port": 6432}) == Endpoint("127.0.0.1", 6432)


def test_a_credential_uri_escapes_the_user_and_password_and_brackets_ipv6() -> None:
    uri = credential_uri("postgresql", "a@b", "p:w/d", Endpoint("::1", 5432), "db")

    assert uri == "postgresql://a%40b:p%3Aw%2Fd@[::1]:5432/db"


def test_each_backend_reads_the_admin_address_from_its_url() -> None:
    assert PostgresBackend(
        "postgresql://u:p@pg.internal:6543/postgres"
    )._admin_endpoint() == Endpoint("pg.internal", 6543)
    assert PostgresBackend(
        "host=/var/run/postgresql dbname=postgres"
    )._admin_endpoint() == Endpoint("localhost", 5432)
    assert MySQLBackend("mysql://root:secret@maria:3307/")._admin()[0] == Endpoint("maria", 3307)
    assert RedisBackend("rediss://cache/2")._admin() == (Endpoint("cache", 6379), "rediss", 2)
