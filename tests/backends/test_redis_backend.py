"""The ``redis`` credential backend against the real Redis, through the OSB API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
import yaml
from flask import Flask

from broker.app import create_app
from broker.config import Settings
from broker.credentials.redis import RedisBackend, key_prefix, user_name
from tests.support.leftovers import Leftovers, RedisServer, recorded, unique
from tests.support.osb import OSB, basic
from tests.support.real_services import RealService, assert_backend_failed
from tests.support.services import service_url

pytestmark = pytest.mark.redis

CATALOG = Path(__file__).resolve().parents[2] / "catalogs" / "real" / "redis.yaml"
SERVICE = "mock-redis"
REDIS = RealService(SERVICE, "rd")

# /readyz shows what it checked to the admin credentials only.
ADMIN_AUTH = {"Authorization": basic("admin", "admin-secret")}


@pytest.fixture
def redis_url() -> str:
    return service_url("redis")


@pytest.fixture
def settings(settings: Settings, redis_url: str) -> Settings:
    return settings.replace(catalogs=(CATALOG,), redis_url=redis_url)


@pytest.fixture
def server(redis_url: str) -> RedisServer:
    return RedisServer(redis_url)


@pytest.fixture
def made(redis_url: str) -> Iterator[Leftovers]:
    with Leftovers(RedisBackend(redis_url)) as leftovers:
        yield leftovers


def login(credentials: dict[str, Any]) -> redis.Redis:
    return redis.Redis.from_url(credentials["uri"], decode_responses=True)


def test_a_binding_keeps_its_own_keys_and_channels(osb: OSB, made: Leftovers) -> None:
    instance_id = REDIS.provisioned(osb, made)
    binding_id, credentials = REDIS.bound(osb, made, instance_id)

    prefix = key_prefix(instance_id)
    user = user_name(instance_id, binding_id)
    assert credentials["key_prefix"] == prefix
    assert (credentials["type"], credentials["provider"]) == ("redis", "mockbroker")
    assert (credentials["host"], credentials["port"], credentials["database"]) == (
        "127.0.0.1",
        6379,
        0,
    )
    assert credentials["username"] == user
    assert credentials["uri"] == f"redis://{user}:{credentials['password']}@127.0.0.1:6379/0"
    with login(credentials) as client:
        assert client.acl_whoami() == user
        client.set(f"{prefix}greeting", "kept")
        client.hset(f"{prefix}profile", mapping={"name": "app"})
        assert client.get(f"{prefix}greeting") == "kept"
        assert client.hgetall(f"{prefix}profile") == {"name": "app"}
        assert client.publish(f"{prefix}events", "hello") == 0


def test_a_binding_cannot_read_another_instances_keys_or_leave_its_prefix(
    osb: OSB, made: Leftovers, server: RedisServer
) -> None:
    mine = REDIS.provisioned(osb, made)
    theirs = REDIS.provisioned(osb, made)
    _, credentials = REDIS.bound(osb, made, mine)
    _, other = REDIS.bound(osb, made, theirs)
    with login(other) as client:
        client.set(f"{key_prefix(theirs)}secret", "theirs")

    with login(credentials) as client:
        for command in (
            ("GET", f"{key_prefix(theirs)}secret"),
            ("SET", "unprefixed", "x"),
            ("PUBLISH", f"{key_prefix(theirs)}events", "x"),
            ("SELECT", "1"),
            ("SCAN", "0"),
            ("KEYS", "*"),
            ("FLUSHALL",),
            ("CONFIG", "GET", "*"),
            ("ACL", "LIST"),
            ("FUNCTION", "FLUSH"),
        ):
            with pytest.raises(redis.exceptions.NoPermissionError):
                client.execute_command(*command)
    with server.client() as admin:
        assert admin.get(f"{key_prefix(theirs)}secret") == "theirs"


def test_unbinding_closes_the_users_connections_and_it_can_no_longer_log_in(
    osb: OSB, made: Leftovers, server: RedisServer, app: Flask
) -> None:
    instance_id = REDIS.provisioned(osb, made)
    binding_id, credentials = REDIS.bound(osb, made, instance_id)
    session = redis.Redis.from_url(credentials["uri"], single_connection_client=True)
    session.ping()

    answer = osb.unbind(instance_id, binding_id, SERVICE, "standard")

    assert answer.status == 200, answer.json
    with pytest.raises(redis.exceptions.ConnectionError):
        session.connection.send_command("PING")
        session.connection.read_response()
    session.close()
    with pytest.raises(redis.exceptions.AuthenticationError):
        login(credentials).ping()
    assert server.acl_user(credentials["username"]) is None
    assert binding_id not in recorded(app)[1]


def test_deprovisioning_deletes_every_key_of_the_instance_and_only_those(
    osb: OSB, made: Leftovers, server: RedisServer, app: Flask
) -> None:
    instance_id = REDIS.provisioned(osb, made)
    neighbour = REDIS.provisioned(osb, made)
    _, credentials = REDIS.bound(osb, made, instance_id)
    neighbours_binding, other = REDIS.bound(osb, made, neighbour)
    prefix = key_prefix(instance_id)
    with login(credentials) as client:
        client.mset({f"{prefix}key:{n}": n for n in range(2500)})  # several SCAN rounds
    with login(other) as client:
        client.set(f"{key_prefix(neighbour)}survivor", "yes")

    answer = osb.deprovision(instance_id, SERVICE, "standard")

    assert answer.status == 200, answer.json
    assert server.keys_under(prefix) == []
    assert server.acl_user(credentials["username"]) is None
    assert server.keys_under(key_prefix(neighbour)) == [f"{key_prefix(neighbour)}survivor"]
    assert instance_id not in recorded(app)[0]
    # The instance's binding went with it; the neighbour and its binding remain.
    assert recorded(app) == ({neighbour}, {neighbours_binding})


def test_unbind_and_deprovision_succeed_when_the_server_holds_nothing_anymore(
    osb: OSB, made: Leftovers, server: RedisServer
) -> None:
    instance_id = REDIS.provisioned(osb, made)
    binding_id, credentials = REDIS.bound(osb, made, instance_id)
    with server.client() as admin:
        admin.execute_command("ACL", "DELUSER", credentials["username"])

    assert osb.unbind(instance_id, binding_id, SERVICE, "standard").status == 200
    assert osb.deprovision(instance_id, SERVICE, "standard").status == 200


def test_catalog_options_set_the_address_and_the_name_prefix(
    settings: Settings, made: Leftovers, tmp_path: Path
) -> None:
    options = {"host": "cache.example.test", "port": 16379, "name_prefix": "shop_"}
    plan = {
        "name": "p",
        "description": "d",
        "mockbroker": {"credentials": {"backend": "redis", "options": options}},
    }
    service = {"name": "cache", "description": "d", "bindable": True, "plans": [plan]}
    catalog = tmp_path / "cache.yaml"
    catalog.write_text(yaml.safe_dump({"services": [service]}))
    osb = OSB(create_app(settings.replace(catalogs=(catalog,))).test_client())
    instance_id = made.instance(unique("rd-options"), options)
    binding_id = made.binding(instance_id, unique("bind"), options)
    assert osb.provision(instance_id, "cache", "p").status == 201

    answer = osb.bind(instance_id, binding_id, "cache", "p")

    assert answer.status == 201, answer.json
    credentials = answer.json["credentials"]
    assert (credentials["host"], credentials["port"]) == ("cache.example.test", 16379)
    assert "@cache.example.test:16379/0" in credentials["uri"]
    assert credentials["key_prefix"] == key_prefix(instance_id, "shop_")
    assert credentials["username"] == user_name(instance_id, binding_id, "shop_")
    assert credentials["key_prefix"].startswith("shop_")


# --- failures leave nothing behind ----------------------------------------------------


def test_an_unreachable_server_fails_the_provision_and_records_nothing(settings: Settings) -> None:
    app = create_app(settings.replace(redis_url="redis://127.0.0.1:1/0"))

    answer = OSB(app.test_client()).provision(unique("rd-unreachable"), SERVICE, "standard")

    assert_backend_failed(
        answer, "redis backend could not provision", "cannot connect to Redis at 127.0.0.1:1"
    )
    assert recorded(app) == (set(), set())


def test_an_existing_acl_user_of_the_same_name_fails_the_bind_and_is_left_alone(
    osb: OSB, made: Leftovers, server: RedisServer, app: Flask
) -> None:
    instance_id = REDIS.provisioned(osb, made)
    binding_id = made.binding(instance_id, unique("bind"))
    user = user_name(instance_id, binding_id)
    with server.client() as admin:
        admin.execute_command("ACL", "SETUSER", user, "off", "~precious:*", "+get")

    answer = osb.bind(instance_id, binding_id, SERVICE, "standard")

    assert_backend_failed(answer, f"ACL user {user} already exists")
    existing = server.acl_user(user)
    assert existing is not None
    assert "~precious:*" in str(existing)
    assert recorded(app) == ({instance_id}, set())


@pytest.fixture
def admin_without_setuser(server: RedisServer, redis_url: str) -> Iterator[str]:
    """An admin URL whose user may do everything but create ACL users."""
    name = unique("mbtest_adm")
    with server.client() as admin:
        admin.execute_command(
            "ACL", "SETUSER", name, "on", ">admin-secret", "~*", "&*", "+@all", "-acl|setuser"
        )
    parts = urlsplit(redis_url)
    yield urlunsplit(parts._replace(netloc=f"{name}:admin-secret@{parts.hostname}:{parts.port}"))
    with server.client() as admin:
        admin.execute_command("ACL", "DELUSER", name)


def test_a_bind_refused_by_the_server_creates_no_user_and_no_binding(
    settings: Settings, made: Leftovers, server: RedisServer, admin_without_setuser: str
) -> None:
    app = create_app(settings.replace(redis_url=admin_without_setuser))
    osb = OSB(app.test_client())
    instance_id = REDIS.provisioned(osb, made)
    binding_id = made.binding(instance_id, unique("bind"))

    answer = osb.bind(instance_id, binding_id, SERVICE, "standard")

    assert_backend_failed(
        answer, "redis backend could not bind", "cannot create ACL user", "no permissions"
    )
    assert server.acl_user(user_name(instance_id, binding_id)) is None
    assert recorded(app) == ({instance_id}, set())


# --- readiness -------------------------------------------------------------------------


def test_readyz_is_ok_when_the_server_answers(client: Any) -> None:
    answer = client.get("/readyz", headers=ADMIN_AUTH)

    assert answer.status_code == 200, answer.json
    assert answer.json["checks"]["backend:redis"] == "ok"


def test_readyz_says_why_the_redis_backend_is_not_ready(settings: Settings) -> None:
    def readyz(url: str | None) -> Any:
        return (
            create_app(settings.replace(redis_url=url))
            .test_client()
            .get("/readyz", headers=ADMIN_AUTH)
        )

    unset, refused = readyz(None), readyz("redis://127.0.0.1:1/0")

    assert unset.status_code == 503
    assert unset.json["checks"]["backend:redis"] == "BROKER_REDIS_URL is not set"
    assert refused.status_code == 503
    assert refused.json["checks"]["backend:redis"].startswith(
        "cannot connect to Redis at 127.0.0.1:1: "
    )
