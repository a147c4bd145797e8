"""Many clients at once against a served broker with real backends: every account is
made once, works, and is removed; racing requests for one id make one database."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg
import pytest

from broker.credentials.postgres import PostgresBackend, database_name
from tests.support.leftovers import Leftovers, PostgresServer, unique
from tests.support.osb import OSB, basic
from tests.support.servers import serve
from tests.support.services import service_url

pytestmark = [pytest.mark.server, pytest.mark.postgres]

CATALOG = Path(__file__).resolve().parents[2] / "catalogs" / "real" / "postgresql.yaml"
SERVICE, PLAN = "mock-postgresql", "standard"
CLIENTS = 6


@pytest.fixture
def served(tmp_path: Path):
    url = service_url("postgres")
    with (
        Leftovers(PostgresBackend(url)) as made,
        serve(tmp_path, "--catalog", str(CATALOG), env={"BROKER_POSTGRES_URL": url}) as server,
    ):
        yield server.url, PostgresServer(url), made


def test_parallel_lifecycles_each_get_their_own_working_database_and_leave_nothing(served) -> None:
    base_url, server, made = served
    instance_ids = [made.instance(unique("par")) for _ in range(CLIENTS)]

    def lifecycle(instance_id: str) -> tuple[str, list[str]]:
        with httpx.Client(base_url=base_url, timeout=60) as client:
            osb = OSB(client)
            assert osb.provision(instance_id, SERVICE, PLAN).status == 201
            binding_ids = [made.binding(instance_id, unique("b")) for _ in range(2)]
            with ThreadPoolExecutor(2) as binds:  # two binds racing for one instance
                answers = list(
                    binds.map(lambda b: osb.bind(instance_id, b, SERVICE, PLAN), binding_ids)
                )
            assert [answer.status for answer in answers] == [201, 201], [a.json for a in answers]
            for answer in answers:
                with psycopg.connect(
                    answer.json["credentials"]["uri"], autocommit=True
                ) as connection:
                    connection.execute(
                        f"CREATE TABLE {answer.json['credentials']['username']} (x int)"
                    )
            assert osb.deprovision(instance_id, SERVICE, PLAN).status == 200
            return answers[0].json["credentials"]["database"], [
                answer.json["credentials"]["username"] for answer in answers
            ]

    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(lifecycle, instance_ids))

    assert len({database for database, _ in results}) == CLIENTS
    assert [database for database, _ in results if server.has_database(database)] == []
    roles = [role for _, both in results for role in both]
    assert len(set(roles)) == 2 * CLIENTS, roles
    assert [role for role in roles if server.has_role(role)] == []
    with httpx.Client(base_url=base_url) as client:
        state = OSB(client, auth=basic(), version=None).get("/admin/state").json
    assert state["instances"] == [] and state["bindings"] == []


def test_racing_provisions_of_one_id_create_one_database(served) -> None:
    base_url, server, made = served
    instance_id = made.instance(unique("race"))

    def provision(_: int) -> int:
        with httpx.Client(base_url=base_url, timeout=60) as client:
            return OSB(client).provision(instance_id, SERVICE, PLAN).status

    with ThreadPoolExecutor(CLIENTS) as pool:
        statuses = sorted(pool.map(provision, range(CLIENTS)))

    assert statuses == [200] * (CLIENTS - 1) + [201]
    assert server.has_database(database_name(instance_id))
