"""The ``postgres`` credential backend against the real PostgreSQL, through the OSB API."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
import pytest
from flask import Flask
from psycopg import sql

from broker.app import create_app
from broker.config import Settings
from broker.credentials.postgres import PostgresBackend, database_name, owner_name, role_name
from tests.support.leftovers import Leftovers, PostgresServer, recorded, unique
from tests.support.osb import OSB, basic
from tests.support.real_services import RealService, assert_backend_failed
from tests.support.services import service_url

pytestmark = pytest.mark.postgres

CATALOG = Path(__file__).resolve().parents[2] / "catalogs" / "real" / "postgresql.yaml"
SERVICE = "mock-postgresql"
POSTGRESQL = RealService(SERVICE, "pg")

# /readyz shows what it checked to the admin credentials only.
ADMIN_AUTH = {"Authorization": basic("admin", "admin-secret")}


@pytest.fixture
def postgres_url() -> str:
    return service_url("postgres")


@pytest.fixture
def settings(settings: Settings, postgres_url: str) -> Settings:
    return settings.replace(catalogs=(CATALOG,), postgres_url=postgres_url)


@pytest.fixture
def server(postgres_url: str) -> PostgresServer:
    return PostgresServer(postgres_url)


@pytest.fixture
def made(postgres_url: str) -> Iterator[Leftovers]:
    with Leftovers(PostgresBackend(postgres_url)) as leftovers:
        yield leftovers


def test_a_binding_connects_and_keeps_its_own_data(osb: OSB, made: Leftovers) -> None:
    instance_id = POSTGRESQL.provisioned(osb, made)
    binding_id, credentials = POSTGRESQL.bound(osb, made, instance_id)

    database = database_name(instance_id)
    role = role_name(instance_id, binding_id)
    assert {
        key: credentials[key]
        for key in ("type", "provider", "host", "port", "username", "database")
    } == {
        "type": "postgresql",
        "provider": "mockbroker",
        "host": "127.0.0.1",
        "port": 5432,
        "username": role,
        "database": database,
    }
    assert (
        credentials["uri"]
        == f"postgresql://{role}:{credentials['password']}@127.0.0.1:5432/{database}"
    )
    assert credentials["jdbcUrl"] == f"jdbc:postgresql://127.0.0.1:5432/{database}"
    with psycopg.connect(credentials["uri"]) as connection:
        connection.execute("CREATE TABLE notes (body text)")
        connection.execute("INSERT INTO notes VALUES ('kept')")
        connection.commit()
    with psycopg.connect(credentials["uri"]) as connection:
        assert connection.execute("SELECT body FROM notes").fetchall() == [("kept",)]
        assert connection.execute(
            "SELECT session_user, current_user, current_database()"
        ).fetchone() == (role, owner_name(instance_id), database)


def test_a_binding_cannot_connect_to_another_instances_database(osb: OSB, made: Leftovers) -> None:
    mine = POSTGRESQL.provisioned(osb, made)
    theirs = POSTGRESQL.provisioned(osb, made)
    _, credentials = POSTGRESQL.bound(osb, made, mine)

    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        psycopg.connect(
            host=credentials["host"],
            port=credentials["port"],
            user=credentials["username"],
            password=credentials["password"],
            dbname=database_name(theirs),
        )


def test_bindings_of_one_instance_share_its_data_and_it_outlives_them(
    osb: OSB, made: Leftovers
) -> None:
    instance_id = POSTGRESQL.provisioned(osb, made)
    first_id, first = POSTGRESQL.bound(osb, made, instance_id)
    _, second = POSTGRESQL.bound(osb, made, instance_id)
    with psycopg.connect(first["uri"], autocommit=True) as connection:
        connection.execute("CREATE TABLE shared (x int)")
        connection.execute("INSERT INTO shared VALUES (1)")

    with psycopg.connect(second["uri"], autocommit=True) as connection:
        connection.execute("INSERT INTO shared VALUES (2)")
    assert osb.unbind(instance_id, first_id, SERVICE, "standard").status == 200
    _, third = POSTGRESQL.bound(osb, made, instance_id)
    with psycopg.connect(third["uri"], autocommit=True) as connection:
        assert connection.execute("SELECT x FROM shared ORDER BY x").fetchall() == [(1,), (2,)]


def test_a_binding_cannot_administer_the_server(osb: OSB, made: Leftovers) -> None:
    instance_id = POSTGRESQL.provisioned(osb, made)
    _, credentials = POSTGRESQL.bound(osb, made, instance_id)
    with psycopg.connect(credentials["uri"], autocommit=True) as connection:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            connection.execute("CREATE DATABASE escape")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            connection.execute("CREATE ROLE escape")


def test_unbinding_ends_open_sessions_and_the_role_can_no_longer_log_in(
    osb: OSB, made: Leftovers, server: PostgresServer, app: Flask
) -> None:
    instance_id = POSTGRESQL.provisioned(osb, made)
    binding_id, credentials = POSTGRESQL.bound(osb, made, instance_id)
    session = psycopg.connect(credentials["uri"], autocommit=True)

    answer = osb.unbind(instance_id, binding_id, SERVICE, "standard")

    assert answer.status == 200, answer.json
    with pytest.raises(psycopg.OperationalError):
        session.execute("SELECT 1")
    session.close()
    with pytest.raises(psycopg.OperationalError, match="does not exist"):
        psycopg.connect(credentials["uri"])
    assert not server.has_role(credentials["username"])
    assert binding_id not in recorded(app)[1]


def test_deprovisioning_drops_the_database_and_the_role_of_every_binding(
    osb: OSB, made: Leftovers, server: PostgresServer, app: Flask
) -> None:
    instance_id = POSTGRESQL.provisioned(osb, made)
    roles = []
    for _ in range(2):
        _, credentials = POSTGRESQL.bound(osb, made, instance_id)
        roles.append(credentials["username"])
        with psycopg.connect(credentials["uri"], autocommit=True) as connection:
            connection.execute(f"CREATE TABLE t_{len(roles)} (x int)")
    assert server.has_database(database_name(instance_id))

    answer = osb.deprovision(instance_id, SERVICE, "standard")

    assert answer.status == 200, answer.json
    assert not server.has_database(database_name(instance_id))
    assert [role for role in roles if server.has_role(role)] == []
    assert not server.has_role(owner_name(instance_id))
    assert recorded(app) == (set(), set())
    assert osb.get(f"/v2/service_instances/{instance_id}").status == 404


def test_unbind_and_deprovision_succeed_when_the_server_holds_nothing_anymore(
    osb: OSB, made: Leftovers, server: PostgresServer
) -> None:
    instance_id = POSTGRESQL.provisioned(osb, made)
    binding_id, credentials = POSTGRESQL.bound(osb, made, instance_id)
    server.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(credentials["database"])))
    server.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(credentials["username"])))

    assert osb.unbind(instance_id, binding_id, SERVICE, "standard").status == 200
    assert osb.deprovision(instance_id, SERVICE, "standard").status == 200


def test_instance_ids_with_quotes_and_semicolons_only_ever_name_their_own_database(
    osb: OSB, made: Leftovers, server: PostgresServer
) -> None:
    instance_id = made.instance(unique('Robert"); DROP DATABASE test; --') + "x" * 120)
    answer = osb.provision(quote(instance_id, safe=""), SERVICE, "standard")
    assert answer.status == 201, answer.json
    database = database_name(instance_id)

    assert server.has_database(database)
    assert len(database.encode()) <= 63
    assert database.startswith("mb_robert_drop_database_test_")
    assert server.has_database("test")


def test_the_async_plan_creates_the_database_when_the_operation_finishes(
    osb: OSB, made: Leftovers, server: PostgresServer
) -> None:
    instance_id = made.instance(unique("pg-async"))
    answer = osb.provision(instance_id, SERVICE, "async", accepts_incomplete=True)
    assert answer.status == 202, answer.json
    assert not server.has_database(database_name(instance_id))

    polls = [osb.last_operation(instance_id).json["state"] for _ in range(2)]

    assert polls == ["in progress", "succeeded"]
    assert server.has_database(database_name(instance_id))


def test_the_public_host_and_port_settings_go_into_credentials(
    settings: Settings, made: Leftovers
) -> None:
    osb = OSB(
        create_app(
            settings.replace(postgres_public_host="localhost", postgres_public_port=5432)
        ).test_client()
    )
    instance_id = POSTGRESQL.provisioned(osb, made)
    _, credentials = POSTGRESQL.bound(osb, made, instance_id)

    assert (credentials["host"], credentials["port"]) == ("localhost", 5432)
    assert "@localhost:5432/" in credentials["uri"]
    with psycopg.connect(credentials["uri"]) as connection:
        assert connection.execute("SELECT 1").fetchone() == (1,)


# --- failures leave nothing behind ----------------------------------------------------


def test_an_unreachable_server_fails_the_provision_and_records_nothing(
    settings: Settings, server: PostgresServer
) -> None:
    app = create_app(settings.replace(postgres_url="postgresql://postgres@127.0.0.1:1/test"))
    osb = OSB(app.test_client())
    instance_id = unique("pg-unreachable")

    answer = osb.provision(instance_id, SERVICE, "standard")

    assert_backend_failed(
        answer,
        "postgres backend could not provision",
        "cannot connect to PostgreSQL at 127.0.0.1:1",
    )
    assert recorded(app) == (set(), set())
    assert not server.has_database(database_name(instance_id))


def test_an_existing_database_of_the_same_name_fails_the_provision_and_is_left_alone(
    osb: OSB, server: PostgresServer, app: Flask
) -> None:
    instance_id = unique("pg-collision")
    database = database_name(instance_id)
    server.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    try:
        server.execute("CREATE TABLE precious (x int)", database=database)

        answer = osb.provision(instance_id, SERVICE, "standard")

        assert_backend_failed(answer, f"database {database} already exists")
        assert recorded(app) == (set(), set())
        assert server.execute("SELECT count(*) FROM precious", database=database) == [(0,)]
    finally:
        server.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
        )


@pytest.fixture
def single_connection_admin(server: PostgresServer, postgres_url: str) -> Iterator[str]:
    """A non-superuser admin URL allowed one connection at a time."""
    name = unique("mbtest_admin").replace("-", "_")
    password = uuid.uuid4().hex
    server.execute(
        sql.SQL("CREATE ROLE {} LOGIN CREATEDB CREATEROLE CONNECTION LIMIT 1 PASSWORD {}").format(
            sql.Identifier(name), sql.Literal(password)
        )
    )
    parts = urlsplit(postgres_url)
    yield urlunsplit(parts._replace(netloc=f"{name}:{password}@{parts.hostname}:{parts.port}"))
    for (database,) in server.execute(
        "SELECT datname FROM pg_database JOIN pg_roles r ON datdba = r.oid WHERE rolname = %s",
        (name,),
    ):
        server.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(database)))
    server.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def test_a_provision_that_fails_after_creating_the_database_drops_it_again(
    settings: Settings, server: PostgresServer, single_connection_admin: str
) -> None:
    app = create_app(settings.replace(postgres_url=single_connection_admin))
    osb = OSB(app.test_client())
    instance_id = unique("pg-halfway")

    answer = osb.provision(instance_id, SERVICE, "standard")

    assert_backend_failed(answer, "too many connections", "the database was dropped again")
    assert not server.has_database(database_name(instance_id))
    assert recorded(app) == (set(), set())


def test_a_bind_that_fails_after_creating_the_role_drops_it_again(
    osb: OSB, made: Leftovers, server: PostgresServer, app: Flask
) -> None:
    instance_id = POSTGRESQL.provisioned(osb, made)
    server.execute("DROP SCHEMA public CASCADE", database=database_name(instance_id))
    binding_id = made.binding(instance_id, unique("bind"))

    answer = osb.bind(instance_id, binding_id, SERVICE, "standard")

    assert_backend_failed(
        answer,
        "postgres backend could not bind",
        "public schema is not owned by the instance",
        "the role was dropped again",
    )
    assert not server.has_role(role_name(instance_id, binding_id))
    assert recorded(app) == ({instance_id}, set())


# --- readiness -------------------------------------------------------------------------


def test_readyz_is_ok_when_the_server_answers(client) -> None:
    answer = client.get("/readyz", headers=ADMIN_AUTH)

    assert answer.status_code == 200, answer.json
    assert answer.json["checks"]["backend:postgres"] == "ok"


def test_readyz_says_why_the_postgres_backend_is_not_ready(settings: Settings) -> None:
    unset = (
        create_app(settings.replace(postgres_url=None))
        .test_client()
        .get("/readyz", headers=ADMIN_AUTH)
    )
    refused = (
        create_app(settings.replace(postgres_url="postgresql://postgres@127.0.0.1:1/test"))
        .test_client()
        .get("/readyz", headers=ADMIN_AUTH)
    )

    assert unset.status_code == 503
    assert unset.json["checks"]["backend:postgres"] == "BROKER_POSTGRES_URL is not set"
    assert refused.status_code == 503
    assert refused.json["checks"]["backend:postgres"].startswith(
        "cannot connect to PostgreSQL at 127.0.0.1:1: "
    )


def test_an_admin_reset_removes_every_database_and_role_the_broker_made(
    osb: OSB, admin: OSB, made: Leftovers, server: PostgresServer, app: Flask
) -> None:
    instance_id = POSTGRESQL.provisioned(osb, made)
    _, credentials = POSTGRESQL.bound(osb, made, instance_id)

    answer = admin.post("/admin/reset", {})

    assert answer.status == 200, answer.json
    assert "cleanup_problems" not in answer.json
    assert not server.has_database(credentials["database"])
    assert not server.has_role(credentials["username"])
    assert recorded(app) == (set(), set())
