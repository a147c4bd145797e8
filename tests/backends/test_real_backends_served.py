"""Real credentials through a real ``mockbroker serve`` (gunicorn, HTTP, several workers).

One full life cycle per backend: the broker process reads its admin URL and the
public address from the environment, a client really uses the bound credentials,
and after unbind and deprovision nothing is left on the server or in the broker.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pymysql
import pytest
import redis

from broker.credentials.mysql import MySQLBackend
from broker.credentials.postgres import PostgresBackend, database_name, owner_name
from broker.credentials.redis import RedisBackend
from tests.support.leftovers import Leftovers, MySQLServer, PostgresServer, RedisServer, unique
from tests.support.osb import OSB, basic
from tests.support.servers import serve
from tests.support.services import service_url

pytestmark = pytest.mark.server

REAL = Path(__file__).resolve().parents[2] / "catalogs" / "real"


@contextmanager
def broker(tmp_path: Path, catalog: str, **env: str) -> Iterator[tuple[OSB, OSB]]:
    """A served broker: an OSB caller and an admin caller (same credentials by default)."""
    with serve(tmp_path, "--catalog", str(REAL / catalog), env=env) as server:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            ready = client.get("/readyz")
            assert ready.status_code == 200, ready.text
            yield OSB(client), OSB(client, auth=basic(), version=None)


def life_cycle(osb: OSB, made: Leftovers, service: str) -> tuple[str, str, dict[str, Any]]:
    instance_id = made.instance(unique("served"))
    binding_id = made.binding(instance_id, unique("bind"))
    assert osb.provision(instance_id, service, "standard").status == 201
    answer = osb.bind(instance_id, binding_id, service, "standard")
    assert answer.status == 201, answer.json
    credentials = answer.json["credentials"]
    assert credentials["host"] == "localhost"
    return instance_id, binding_id, credentials


def assert_forgotten(osb: OSB, admin: OSB, instance_id: str, binding_id: str) -> None:
    assert osb.get(f"/v2/service_instances/{instance_id}").status == 404
    assert (
        osb.get(f"/v2/service_instances/{instance_id}/service_bindings/{binding_id}").status == 404
    )
    state = admin.get("/admin/state").json
    assert state["instances"] == [] and state["bindings"] == []


@pytest.mark.postgres
def test_a_served_broker_hands_out_working_postgres_roles_and_removes_them(tmp_path: Path) -> None:
    url = service_url("postgres")
    server = PostgresServer(url)
    with (
        Leftovers(PostgresBackend(url)) as made,
        broker(
            tmp_path,
            "postgresql.yaml",
            BROKER_POSTGRES_URL=url,
            BROKER_POSTGRES_PUBLIC_HOST="localhost",
        ) as (osb, admin),
    ):
        instance_id, binding_id, credentials = life_cycle(osb, made, "mock-postgresql")
        with psycopg.connect(credentials["uri"], autocommit=True) as connection:
            connection.execute("CREATE TABLE visits (n int)")
            connection.execute("INSERT INTO visits VALUES (1)")
            assert connection.execute("SELECT sum(n) FROM visits").fetchone() == (1,)

        assert osb.unbind(instance_id, binding_id, "mock-postgresql", "standard").status == 200
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(credentials["uri"])
        assert osb.deprovision(instance_id, "mock-postgresql", "standard").status == 200

        assert not server.has_database(credentials["database"])
        assert not server.has_role(credentials["username"])
        assert_forgotten(osb, admin, instance_id, binding_id)


@pytest.mark.mysql
def test_a_served_broker_hands_out_working_mariadb_users_and_removes_them(tmp_path: Path) -> None:
    url = service_url("mysql")
    server = MySQLServer(url)
    with (
        Leftovers(MySQLBackend(url)) as made,
        broker(
            tmp_path, "mariadb.yaml", BROKER_MYSQL_URL=url, BROKER_MYSQL_PUBLIC_HOST="localhost"
        ) as (osb, admin),
    ):
        instance_id, binding_id, credentials = life_cycle(osb, made, "mock-mariadb")
        login = {
            "host": credentials["host"],
            "port": credentials["port"],
            "user": credentials["username"],
            "password": credentials["password"],
            "database": credentials["database"],
        }
        connection = pymysql.connect(**login, autocommit=True)
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE visits (n int)")
            cursor.execute("INSERT INTO visits VALUES (1)")
            cursor.execute("SELECT sum(n) FROM visits")
            assert cursor.fetchone()[0] == 1
        connection.close()

        assert osb.unbind(instance_id, binding_id, "mock-mariadb", "standard").status == 200
        with pytest.raises(pymysql.err.OperationalError):
            pymysql.connect(**login)
        assert osb.deprovision(instance_id, "mock-mariadb", "standard").status == 200

        assert not server.has_database(credentials["database"])
        assert not server.has_user(credentials["username"])
        assert_forgotten(osb, admin, instance_id, binding_id)


@pytest.mark.redis
def test_a_served_broker_hands_out_working_redis_users_and_removes_them(tmp_path: Path) -> None:
    url = service_url("redis")
    server = RedisServer(url)
    with (
        Leftovers(RedisBackend(url)) as made,
        broker(
            tmp_path, "redis.yaml", BROKER_REDIS_URL=url, BROKER_REDIS_PUBLIC_HOST="localhost"
        ) as (osb, admin),
    ):
        instance_id, binding_id, credentials = life_cycle(osb, made, "mock-redis")
        prefix = credentials["key_prefix"]
        with redis.Redis.from_url(credentials["uri"], decode_responses=True) as client:
            assert client.incr(f"{prefix}visits") == 1
            with pytest.raises(redis.exceptions.NoPermissionError):
                client.get("visits")

        assert osb.unbind(instance_id, binding_id, "mock-redis", "standard").status == 200
        with pytest.raises(redis.exceptions.AuthenticationError):
            redis.Redis.from_url(credentials["uri"]).ping()
        assert osb.deprovision(instance_id, "mock-redis", "standard").status == 200

        assert server.keys_under(prefix) == []
        assert server.acl_user(credentials["username"]) is None
        assert_forgotten(osb, admin, instance_id, binding_id)


def test_a_served_broker_binds_static_and_user_provided_credentials(tmp_path: Path) -> None:
    with serve(tmp_path) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        osb = OSB(client)
        assert (
            osb.provision(
                "ups",
                "user-provided-service",
                "default",
                parameters={"credentials": {"uri": "https://x.test"}},
            ).status
            == 201
        )
        assert osb.provision("api", "mock-static-api", "default").status == 201

        provided = osb.bind(
            "ups",
            "ups-b",
            "user-provided-service",
            "default",
            parameters={"credentials": {"token": "t"}},
        )
        refused = osb.bind(
            "ups", "ups-c", "user-provided-service", "default", parameters={"credentials": "t"}
        )
        static = osb.bind("api", "api-b", "mock-static-api", "default")

        assert provided.status == 201 and provided.json["credentials"] == {
            "uri": "https://x.test",
            "token": "t",
        }
        assert refused.status == 400 and refused.json["error"] == "InvalidParameters"
        assert static.status == 201 and static.json["credentials"]["tenant"] == "api"


@pytest.mark.postgres
def test_a_broker_killed_during_a_postgres_provision_leaves_nothing_once_retried(
    tmp_path: Path,
) -> None:
    """SIGKILL between the backend's first statement and the broker's state write.

    A session on ``template1`` makes ``CREATE DATABASE`` wait (up to 5 s) after the
    instance's owner role was created; the broker is killed in that wait. The retry
    on a new broker process (same data dir) removes the role the dead call made and
    provisions again; deprovisioning then leaves nothing on the server.
    """
    url = service_url("postgres")
    server = PostgresServer(url)
    env = {"BROKER_POSTGRES_URL": url}
    with Leftovers(PostgresBackend(url)) as made:
        instance_id = made.instance(unique("killed"))
        owner, database = owner_name(instance_id), database_name(instance_id)
        with (
            serve(tmp_path, "--catalog", str(REAL / "postgresql.yaml"), env=env) as first,
            psycopg.connect(url, dbname="template1", autocommit=True),
            ThreadPoolExecutor(1) as pool,
        ):
            client = httpx.Client(base_url=first.url, timeout=30)
            pending = pool.submit(OSB(client).provision, instance_id, "mock-postgresql", "standard")
            deadline = time.monotonic() + 4
            while not server.has_role(owner) and time.monotonic() < deadline:
                time.sleep(0.02)
            assert server.has_role(owner), "the provision did not reach the server in time"
            first.kill()
            with pytest.raises(httpx.TransportError):
                pending.result()
            client.close()
        assert server.has_role(owner) and not server.has_database(database)

        with broker(tmp_path, "postgresql.yaml", **env) as (osb, admin):
            answer = osb.provision(instance_id, "mock-postgresql", "standard")
            assert answer.status == 201, answer.json
            assert server.has_database(database)
            binding_id = made.binding(instance_id, unique("bind"))
            bound = osb.bind(instance_id, binding_id, "mock-postgresql", "standard")
            assert bound.status == 201, bound.json
            with psycopg.connect(bound.json["credentials"]["uri"]) as connection:
                assert connection.execute("SELECT current_database()").fetchone() == (database,)
            assert osb.unbind(instance_id, binding_id, "mock-postgresql", "standard").status == 200
            assert osb.deprovision(instance_id, "mock-postgresql", "standard").status == 200

            assert not server.has_database(database)
            assert not server.has_role(owner)
            assert_forgotten(osb, admin, instance_id, binding_id)
