"""What only the PostgreSQL store has: URLs, schemas, migrations, connections, outages."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from flask import Flask
from psycopg import sql

from broker.app import create_app
from broker.config import Settings
from broker.storage import StoreUnavailable, open_store
from broker.storage.base import Put
from broker.storage.postgres import SCHEMA_VERSION, PostgresStore, parse_postgres_url
from broker.web.runtime import runtime_of
from tests.support.leftovers import PostgresServer
from tests.support.osb import OSB, basic
from tests.support.ports import free_port
from tests.support.postgres import fresh_schema
from tests.support.records import binding, instance
from tests.support.services import service_url

pytestmark = pytest.mark.postgres

CATALOGS = Path(__file__).resolve().parents[2] / "catalogs"

# /readyz shows what it checked to the admin credentials only.
ADMIN_AUTH = {"Authorization": basic()}


@pytest.fixture
def url() -> Iterator[str]:
    with fresh_schema() as fresh:
        yield fresh


@pytest.fixture
def store(url: str) -> Iterator[PostgresStore]:
    opened = PostgresStore(url)
    yield opened
    opened.close()


def admin() -> PostgresServer:
    """The server behind the test schemas, as its admin."""
    return PostgresServer(service_url("postgres"))


def schema_of(url: str) -> str:
    return parse_postgres_url(url)[1]


@contextmanager
def named_store(url: str) -> Iterator[tuple[PostgresStore, str]]:
    """A store whose sessions carry an application_name of their own, and that name."""
    name = f"mbtest_{schema_of(url)}"
    opened = PostgresStore(f"{url}&application_name={name}")
    try:
        yield opened, name
    finally:
        opened.close()


def sessions_named(name: str) -> int:
    rows = admin().execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (name,)
    )
    return int(rows[0][0])


def end_sessions_named(name: str) -> None:
    admin().execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
        (name,),
    )


# --- URLs -------------------------------------------------------------------------------
def test_the_schema_option_is_ours_and_everything_else_goes_to_libpq() -> None:
    assert parse_postgres_url("postgresql://u@h/db?schema=run_1&sslmode=disable") == (
        "postgresql://u@h/db?sslmode=disable",
        "run_1",
    )
    assert parse_postgres_url("postgres://u@h:5433/db") == ("postgres://u@h:5433/db", "mockbroker")


@pytest.mark.parametrize("schema", ["Upper", "1starts_with_digit", "semi;colon", "x" * 64, ""])
def test_a_schema_name_that_is_not_a_plain_name_is_refused(schema: str) -> None:
    with pytest.raises(StoreUnavailable, match="not a plain lower-case PostgreSQL name"):
        PostgresStore(f"postgresql://postgres@127.0.0.1/test?schema={schema}")


def test_open_store_opens_postgresql_urls(url: str) -> None:
    opened = open_store(url)
    try:
        assert isinstance(opened, PostgresStore)
        assert opened.schema == schema_of(url)
    finally:
        opened.close()


# --- start-up and migrations ------------------------------------------------------------
def test_the_schema_is_created_with_its_version_on_start(store: PostgresStore, url: str) -> None:
    rows = admin().execute(
        sql.SQL("SELECT value FROM {}.meta WHERE key = 'schema_version'").format(
            sql.Identifier(schema_of(url))
        )
    )
    assert rows == [(SCHEMA_VERSION,)]
    store.check()


def test_replicas_starting_together_on_a_new_schema_all_start(url: str) -> None:
    opened: list[PostgresStore] = []
    failures: list[BaseException] = []
    start = threading.Barrier(6)

    def open_one() -> None:
        start.wait()
        try:
            opened.append(PostgresStore(url))
        except BaseException as exc:  # collected and asserted below
            failures.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    try:
        assert failures == []
        assert len(opened) == 6
        opened[0].apply([Put(instance())])
        assert all(one.get_instance("inst-1") is not None for one in opened)
    finally:
        for one in opened:
            one.close()


def test_a_schema_written_by_a_newer_version_is_refused(store: PostgresStore, url: str) -> None:
    admin().execute(
        sql.SQL("UPDATE {}.meta SET value = 99 WHERE key = 'schema_version'").format(
            sql.Identifier(schema_of(url))
        )
    )
    with pytest.raises(StoreUnavailable, match="newer mockbroker"):
        PostgresStore(url)
    with pytest.raises(StoreUnavailable, match="schema version 99"):
        store.check()


def test_two_schemas_on_one_database_are_two_brokers(store: PostgresStore) -> None:
    with fresh_schema() as other_url:
        other = PostgresStore(other_url)
        try:
            store.apply([Put(instance())])
            assert other.get_instance("inst-1") is None
            taken = threading.Event()

            def take() -> None:
                with other.lock("instance:inst-1"):
                    taken.set()

            with store.lock("instance:inst-1"):
                threading.Thread(target=take, daemon=True).start()
                assert taken.wait(10), "a lock in one schema blocked the same key in another"
        finally:
            other.close()


def test_a_change_the_database_refuses_rolls_back_the_whole_apply(store: PostgresStore) -> None:
    store.apply([Put(instance())])
    refused = binding("b-1", instance_id=None)  # type: ignore[arg-type]
    with pytest.raises(psycopg.errors.NotNullViolation):
        store.apply([Put(instance().evolve(state="updating")), Put(refused)])
    assert store.get_instance("inst-1").state == "ready"  # type: ignore[union-attr]
    assert store.get_binding("b-1") is None
    store.apply([Put(instance().evolve(state="updating"))])  # the connection is usable again
    assert store.get_instance("inst-1").state == "updating"  # type: ignore[union-attr]


# --- outages ----------------------------------------------------------------------------
def test_an_unreachable_server_is_reported_without_the_password() -> None:
    port = free_port()
    with pytest.raises(StoreUnavailable) as caught:
        PostgresStore(f"postgresql://postgres:hunter2@127.0.0.1:{port}/test")
    message = str(caught.value)
    assert f"127.0.0.1:{port}" in message and "refused" in message.lower()
    assert "hunter2" not in message and "postgres:***@" in message


def test_an_unknown_database_is_named(url: str) -> None:
    other = urlunsplit(urlsplit(url)._replace(path="/mockbroker_no_such_db"))
    with pytest.raises(StoreUnavailable, match='database "mockbroker_no_such_db" does not exist'):
        PostgresStore(other)


def test_the_password_never_shows_in_the_store_url(url: str) -> None:
    parts = urlsplit(url)
    assert parts.password  # the test run's own account has one
    opened = PostgresStore(url)
    try:
        assert parts.password not in opened.url and f"{parts.username}:***@" in opened.url
    finally:
        opened.close()


def test_check_says_when_the_tables_are_gone(store: PostgresStore, url: str) -> None:
    store.check()
    admin().execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema_of(url))))
    with pytest.raises(StoreUnavailable, match="tables are missing"):
        store.check()


def test_a_connection_the_server_ended_is_replaced(url: str) -> None:
    with named_store(url) as (opened, name):
        opened.apply([Put(instance())])
        end_sessions_named(name)
        assert opened.get_instance("inst-1") is not None  # a read gets one fresh try
        end_sessions_named(name)
        opened.check()
        opened.apply([Put(instance("inst-2"))])
        assert opened.get_instance("inst-2") is not None


def test_a_lost_connection_while_holding_a_lock_stops_the_thread_until_released(url: str) -> None:
    with named_store(url) as (opened, name):
        with opened.lock("instance:inst-1"):
            end_sessions_named(name)
            with pytest.raises(StoreUnavailable):
                opened.get_instance("inst-1")
            # No write without the lock: the thread stays refused until it lets go.
            with pytest.raises(StoreUnavailable, match="holding a lock was lost"):
                opened.apply([Put(instance())])
        assert opened.get_instance("inst-1") is None
        opened.apply([Put(instance())])
        assert opened.get_instance("inst-1") is not None


def test_connections_of_finished_threads_are_closed(url: str) -> None:
    with named_store(url) as (opened, name):
        for _ in range(5):
            thread = threading.Thread(target=opened.generation)
            thread.start()
            thread.join(30)
        opened.generation()
        # The migration's connection (this thread) and the last thread's at most.
        assert sessions_named(name) <= 2
    assert sessions_named(name) == 0


# --- through the application ------------------------------------------------------------
@pytest.fixture
def app(url: str, tmp_path: Path) -> Iterator[Flask]:
    settings = Settings(store=url, data_dir=tmp_path, catalogs=(CATALOGS,), credential_seed="tests")
    application = create_app(settings)
    yield application
    runtime_of(application).store.close()


def test_readyz_reports_the_store_problem(app: Flask, url: str) -> None:
    client = app.test_client()
    assert client.get("/readyz", headers=ADMIN_AUTH).status_code == 200
    admin().execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema_of(url))))
    answer = client.get("/readyz", headers=ADMIN_AUTH)
    assert answer.status_code == 503
    assert "tables are missing" in answer.get_json()["checks"]["store"]


def test_the_broker_serves_osb_requests_from_postgres(app: Flask, url: str) -> None:
    osb = OSB(app.test_client(), auth=basic())
    created = osb.provision("inst-pg", "cloud-provider-service", "service-plan-name")
    assert created.status == 201, created.text
    assert osb.provision("inst-pg", "cloud-provider-service", "service-plan-name").status == 200
    rows = admin().execute(
        sql.SQL("SELECT id FROM {}.instances").format(sql.Identifier(schema_of(url)))
    )
    assert rows == [("inst-pg",)]


def test_a_request_while_the_store_is_gone_answers_503_without_details(
    app: Flask, url: str
) -> None:
    osb = OSB(app.test_client(), auth=basic())
    assert osb.get("/v2/catalog").status == 200
    admin().execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema_of(url))))
    for answer in (
        osb.get("/v2/catalog"),
        osb.put(
            "/v2/service_instances/x",
            {"service_id": "s", "plan_id": "p", "organization_guid": "o", "space_guid": "s"},
        ),
    ):
        assert answer.status == 503
        assert answer.json["error"] == "StoreUnavailable"
        assert answer.headers["Retry-After"] == "1"
        assert schema_of(url) not in answer.text


def test_serve_stops_with_the_reason_when_the_store_cannot_be_used(tmp_path: Path) -> None:
    port = free_port()
    store = f"postgresql://postgres:hunter2@127.0.0.1:{port}/test"
    environment = {key: value for key, value in os.environ.items() if not key.startswith("BROKER_")}
    done = subprocess.run(
        [sys.executable, "-m", "broker", "serve", "--port", "0", "--store", store],
        capture_output=True,
        text=True,
        timeout=60,
        env={**environment, "BROKER_DATA_DIR": str(tmp_path)},
    )
    assert done.returncode == 2
    assert "cannot use the state store" in done.stderr and "refused" in done.stderr.lower()
    assert "hunter2" not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr and "listening on" not in done.stderr


def test_without_psycopg_a_postgresql_url_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(sys.modules, "broker.storage.postgres", raising=False)
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(StoreUnavailable, match=r"pip install 'mockbroker\[postgres\]'"):
        open_store("postgresql://postgres@127.0.0.1/test")
