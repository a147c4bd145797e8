"""The ``mysql`` credential backend against the real MariaDB, through the OSB API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymysql
import pytest
from flask import Flask

from broker.app import create_app
from broker.config import Settings
from broker.credentials.mysql import MySQLBackend, database_name, user_name
from tests.support.leftovers import Leftovers, MySQLServer, recorded, unique
from tests.support.osb import OSB, basic
from tests.support.real_services import RealService, assert_backend_failed
from tests.support.services import service_url

pytestmark = pytest.mark.mysql

CATALOG = Path(__file__).resolve().parents[2] / "catalogs" / "real" / "mariadb.yaml"
SERVICE = "mock-mariadb"
MARIADB = RealService(SERVICE, "my")
ACCESS_DENIED = (1044, 1045, 1142)

# /readyz shows what it checked to the admin credentials only.
ADMIN_AUTH = {"Authorization": basic("admin", "admin-secret")}


@pytest.fixture
def mysql_url() -> str:
    return service_url("mysql")


@pytest.fixture
def settings(settings: Settings, mysql_url: str) -> Settings:
    return settings.replace(catalogs=(CATALOG,), mysql_url=mysql_url)


@pytest.fixture
def server(mysql_url: str) -> MySQLServer:
    return MySQLServer(mysql_url)


@pytest.fixture
def made(mysql_url: str) -> Iterator[Leftovers]:
    with Leftovers(MySQLBackend(mysql_url)) as leftovers:
        yield leftovers


def login(credentials: dict[str, Any], **overrides: Any) -> pymysql.connections.Connection[Any]:
    arguments = {
        "host": credentials["host"],
        "port": credentials["port"],
        "user": credentials["username"],
        "password": credentials["password"],
        "database": credentials["database"],
        **overrides,
    }
    return pymysql.connect(**arguments, autocommit=True)


def test_a_binding_connects_and_keeps_its_own_data(osb: OSB, made: Leftovers) -> None:
    instance_id = MARIADB.provisioned(osb, made)
    binding_id, credentials = MARIADB.bound(osb, made, instance_id)

    database = database_name(instance_id)
    user = user_name(instance_id, binding_id)
    assert len(user) <= 32
    assert credentials["type"] == "mysql"
    assert credentials["provider"] == "mockbroker"
    assert (credentials["host"], credentials["port"]) == ("127.0.0.1", 3306)
    assert (credentials["username"], credentials["database"]) == (user, database)
    password = credentials["password"]
    assert credentials["uri"] == f"mysql://{user}:{password}@127.0.0.1:3306/{database}"
    assert credentials["jdbcUrl"] == f"jdbc:mariadb://127.0.0.1:3306/{database}"
    connection = login(credentials)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE notes (body text)")
        cursor.execute("INSERT INTO notes VALUES ('kept')")
    connection.close()
    connection = login(credentials)
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM notes")
        assert cursor.fetchall() == (("kept",),)
    connection.close()


def test_a_binding_cannot_reach_another_instances_database(
    osb: OSB, made: Leftovers, server: MySQLServer
) -> None:
    mine = MARIADB.provisioned(osb, made)
    theirs = MARIADB.provisioned(osb, made)
    _, credentials = MARIADB.bound(osb, made, mine)
    server.execute(f"CREATE TABLE `{database_name(theirs)}`.secrets (x int)")

    with pytest.raises(pymysql.err.OperationalError) as refused:
        login(credentials, database=database_name(theirs))
    assert refused.value.args[0] in ACCESS_DENIED
    connection = login(credentials)
    try:
        with connection.cursor() as cursor:
            with pytest.raises(pymysql.err.MySQLError) as denied:
                cursor.execute(f"SELECT * FROM `{database_name(theirs)}`.secrets")
            assert denied.value.args[0] in ACCESS_DENIED
            with pytest.raises(pymysql.err.MySQLError) as denied:
                cursor.execute("CREATE DATABASE escape_attempt")
            assert denied.value.args[0] in ACCESS_DENIED
    finally:
        connection.close()


def test_unbinding_ends_open_sessions_and_the_user_can_no_longer_log_in(
    osb: OSB, made: Leftovers, server: MySQLServer, app: Flask
) -> None:
    instance_id = MARIADB.provisioned(osb, made)
    binding_id, credentials = MARIADB.bound(osb, made, instance_id)
    session = login(credentials)

    answer = osb.unbind(instance_id, binding_id, SERVICE, "standard")

    assert answer.status == 200, answer.json
    with pytest.raises(pymysql.err.MySQLError):
        with session.cursor() as cursor:
            cursor.execute("SELECT 1")
    session.close()
    with pytest.raises(pymysql.err.OperationalError) as refused:
        login(credentials)
    # MariaDB refuses a login to a dropped account with 1045 or 1698 (both "Access denied")
    assert refused.value.args[0] in (1045, 1698), refused.value.args
    assert not server.has_user(credentials["username"])
    assert binding_id not in recorded(app)[1]


def test_deprovisioning_drops_the_database_and_the_user_of_every_binding(
    osb: OSB, made: Leftovers, server: MySQLServer, app: Flask
) -> None:
    instance_id = MARIADB.provisioned(osb, made)
    users = []
    for _ in range(2):
        _, credentials = MARIADB.bound(osb, made, instance_id)
        users.append(credentials["username"])
        login(credentials).close()
    assert server.has_database(database_name(instance_id))

    answer = osb.deprovision(instance_id, SERVICE, "standard")

    assert answer.status == 200, answer.json
    assert not server.has_database(database_name(instance_id))
    assert [user for user in users if server.has_user(user)] == []
    assert recorded(app) == (set(), set())


def test_unbind_and_deprovision_succeed_when_the_server_holds_nothing_anymore(
    osb: OSB, made: Leftovers, server: MySQLServer
) -> None:
    instance_id = MARIADB.provisioned(osb, made)
    binding_id, credentials = MARIADB.bound(osb, made, instance_id)
    server.execute("DROP USER %s@'%%'", (credentials["username"],))
    server.execute(f"DROP DATABASE `{credentials['database']}`")

    assert osb.unbind(instance_id, binding_id, SERVICE, "standard").status == 200
    assert osb.deprovision(instance_id, SERVICE, "standard").status == 200


def test_odd_instance_ids_get_a_safe_database_name(
    osb: OSB, made: Leftovers, server: MySQLServer
) -> None:
    instance_id = made.instance(unique("x`; DROP DATABASE test; --") + "y" * 100)
    answer = osb.provision(instance_id.replace(" ", "%20"), SERVICE, "standard")
    assert answer.status == 201, answer.json
    database = database_name(instance_id)

    assert server.has_database(database)
    assert len(database) <= 64
    assert server.has_database("test")


# --- failures leave nothing behind ----------------------------------------------------


def test_an_unreachable_server_fails_the_provision_and_records_nothing(
    settings: Settings, server: MySQLServer
) -> None:
    app = create_app(settings.replace(mysql_url="mysql://root@127.0.0.1:1/"))
    instance_id = unique("my-unreachable")

    answer = OSB(app.test_client()).provision(instance_id, SERVICE, "standard")

    assert_backend_failed(
        answer, "mysql backend could not provision", "cannot connect to MySQL at 127.0.0.1:1"
    )
    assert recorded(app) == (set(), set())
    assert not server.has_database(database_name(instance_id))


def test_an_existing_database_of_the_same_name_fails_the_provision_and_is_left_alone(
    osb: OSB, server: MySQLServer, app: Flask
) -> None:
    instance_id = unique("my-collision")
    database = database_name(instance_id)
    server.execute(f"CREATE DATABASE `{database}`")
    try:
        server.execute(f"CREATE TABLE `{database}`.precious (x int)")

        answer = osb.provision(instance_id, SERVICE, "standard")

        assert_backend_failed(answer, f"database {database} already exists")
        assert recorded(app) == (set(), set())
        assert server.execute(f"SELECT count(*) FROM `{database}`.precious") == [(0,)]
    finally:
        server.execute(f"DROP DATABASE IF EXISTS `{database}`")


@pytest.fixture
def granting_admin(server: MySQLServer) -> Iterator[tuple[str, str]]:
    """An admin account (name, URL) that may grant, until a test revokes that."""
    name = unique("mbtest_adm").replace("-", "_")[:32]
    server.execute("CREATE USER %s@'%%' IDENTIFIED BY 'admin-secret'", (name,))
    server.execute("GRANT ALL PRIVILEGES ON *.* TO %s@'%%' WITH GRANT OPTION", (name,))
    yield name, f"mysql://{name}:admin-secret@127.0.0.1:3306/"
    server.execute("DROP USER IF EXISTS %s@'%%'", (name,))


def test_a_bind_that_fails_after_creating_the_user_drops_it_again(
    settings: Settings, server: MySQLServer, made: Leftovers, granting_admin: tuple[str, str]
) -> None:
    name, url = granting_admin
    app = create_app(settings.replace(mysql_url=url))
    osb = OSB(app.test_client())
    instance_id = MARIADB.provisioned(osb, made)
    server.execute("REVOKE GRANT OPTION ON *.* FROM %s@'%%'", (name,))
    binding_id = made.binding(instance_id, unique("bind"))

    answer = osb.bind(instance_id, binding_id, SERVICE, "standard")

    assert_backend_failed(
        answer, "mysql backend could not bind", "Access denied", "the user was dropped again"
    )
    assert not server.has_user(user_name(instance_id, binding_id))
    assert recorded(app) == ({instance_id}, set())


# --- readiness -------------------------------------------------------------------------


def test_readyz_is_ok_when_the_server_answers(client: Any) -> None:
    answer = client.get("/readyz", headers=ADMIN_AUTH)

    assert answer.status_code == 200, answer.json
    assert answer.json["checks"]["backend:mysql"] == "ok"


def test_readyz_says_why_the_mysql_backend_is_not_ready(settings: Settings) -> None:
    def readyz(url: str | None) -> Any:
        return (
            create_app(settings.replace(mysql_url=url))
            .test_client()
            .get("/readyz", headers=ADMIN_AUTH)
        )

    unset, refused = readyz(None), readyz("mysql://root@127.0.0.1:1/")

    assert unset.status_code == 503
    assert unset.json["checks"]["backend:mysql"] == "BROKER_MYSQL_URL is not set"
    assert refused.status_code == 503
    assert refused.json["checks"]["backend:mysql"].startswith(
        "cannot connect to MySQL at 127.0.0.1:1: "
    )
