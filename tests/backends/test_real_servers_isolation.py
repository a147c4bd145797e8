"""The tests use accounts of their own on the shared servers, and leave nothing there.

``make test`` reaches the local PostgreSQL, MariaDB and Redis through the
``BROKER_TEST_*_URL`` administrators only to create this run's accounts
(``mockbroker_test_<run>``, tests.support.services); the session ends by checking
that nothing of the run is left, then dropping those accounts.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pymysql
import pytest
import redis

from tests.support.leftovers import pymysql_arguments
from tests.support.ports import free_port
from tests.support.services import NAMESPACE, RUN, admin_url, service_url

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.postgres
def test_postgresql_is_used_through_a_role_of_the_run_that_is_no_superuser() -> None:
    with psycopg.connect(service_url("postgres")) as db:
        row = db.execute(
            "SELECT current_user, current_database(), rolsuper, rolcreatedb, rolcreaterole"
            " FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
    assert row == (NAMESPACE, NAMESPACE, False, True, True)


@pytest.mark.mysql
def test_mariadb_is_used_through_a_user_and_database_of_the_run() -> None:
    url = service_url("mysql")
    connection = pymysql.connect(**pymysql_arguments(url), database=NAMESPACE)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT CURRENT_USER(), DATABASE()")
            assert cursor.fetchone() == (f"{NAMESPACE}@%", NAMESPACE)
    finally:
        connection.close()


@pytest.mark.redis
def test_redis_is_used_through_an_acl_user_of_the_run() -> None:
    with redis.Redis.from_url(service_url("redis"), decode_responses=True) as client:
        assert client.execute_command("ACL", "WHOAMI") == NAMESPACE


def test_every_id_the_tests_make_carries_the_run() -> None:
    from tests.support.leftovers import unique

    assert f"-{RUN}-" in unique("pg")


INNER_CONFTEST = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
from tests.conftest import real_servers_left_clean  # noqa: F401
"""
INNER_TEST = """
import psycopg
from psycopg import sql

from tests.support.services import NAMESPACE, RUN, service_url


def test_one_that_forgets_to_clean_up():
    with psycopg.connect(service_url("postgres"), autocommit=True) as db:
        db.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(f"mb_forgotten_{RUN}")))
    print(f"RUN={RUN} NAMESPACE={NAMESPACE}")
"""


@pytest.mark.postgres
def test_something_left_behind_fails_the_session_and_is_removed_anyway(
    pytester: pytest.Pytester,
) -> None:
    admin = admin_url("postgres")
    pytester.makeconftest(INNER_CONFTEST)
    pytester.makepyfile(test_inner=INNER_TEST)
    result = pytester.runpytest_subprocess("-q", "-s", "-p", "no:cacheprovider")
    output = result.stdout.str()
    result.assert_outcomes(passed=1, errors=1)
    assert "the tests left these behind on the test servers (now removed)" in output
    inner_run = output.split("RUN=", 1)[1].split()[0]
    assert f"PostgreSQL database mb_forgotten_{inner_run}" in output
    with psycopg.connect(admin) as db:
        left = db.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s"
            " UNION ALL SELECT rolname FROM pg_roles WHERE rolname LIKE %s",
            (f"%{inner_run}%", f"%{inner_run}%"),
        ).fetchall()
    assert left == []


def test_a_server_named_by_its_variable_that_does_not_answer_skips_or_fails_under_ci(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BROKER_TEST_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="not reachable .*set BROKER_TEST_REDIS_URL"):
        admin_url("redis")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="not reachable"):
        admin_url("redis")
