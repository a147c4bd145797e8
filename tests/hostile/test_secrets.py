"""Secrets stay hidden at every exit, data files are private, /readyz tells strangers nothing.

Secrets are planted under many key spellings, inside URLs, in headers and in the
query; then every place the broker shows data (journal, state, operations, the
dashboard, its log) is searched for them as plain text.
"""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.hostile.conftest import ADMIN, callers, server_data
from tests.support.osb import OSB, basic
from tests.support.servers import ADMIN_ENV, RunningServer, serve

pytestmark = pytest.mark.server

REAL = Path(__file__).resolve().parents[2] / "catalogs" / "real"

# Each secret is unique text, so finding it anywhere is a leak.
PARAMETERS = {
    "passwd": "leak-passwd-01",
    "pwd": "leak-pwd-02",
    "api_key": "leak-api-key-03",
    "accessKey": "leak-access-key-04",
    "dsn": "leak-dsn-05",
    "jdbcUrl": "jdbc:postgresql://db:5432/x?user=app&password=leak-jdbc-06",
    "credentials": {"uri": "postgres://app:leak-uri-07@db:5432/x"},
    "callback_url": "https://hook:leak-url-08@hooks.example:8443/in",
    "client_secret": "leak-client-secret-09",
    "refresh_token": "leak-token-10",
    "nested": [{"db_password": "leak-nested-11"}],
    "connection": "mysql://root:leak-mysql-12@mariadb:3306/app",
    "webhook": "https://leak-token-user-13@api.example/v1",
    "Private-Key": "leak-private-14",
}
HEADERS = {
    "X-Auth-Token": "leak-header-15",
    "X-Api-Key": "leak-header-16",
    "Cookie": "session=leak-header-17",
    "X-Vault-Token": "leak-header-18",
}
QUERY = {"password": "leak-query-19", "token": "leak-query-20"}
LEAK_MARKS = [f"leak-{kind}" for kind in (
    "passwd-01", "pwd-02", "api-key-03", "access-key-04", "dsn-05", "jdbc-06", "uri-07",
    "url-08", "client-secret-09", "token-10", "nested-11", "mysql-12", "token-user-13",
    "private-14", "header-15", "header-16", "header-17", "header-18", "query-19", "query-20",
)]  # fmt: skip
# What must still show: the shape of the data, hosts of masked URLs, key names.
VISIBLE = ["hooks.example:8443", "mariadb:3306", "api.example", "passwd", "jdbcUrl"]


@pytest.fixture(scope="module")
def planted(osb: OSB, admin: OSB) -> str:
    """An instance provisioned, then being updated, with secrets everywhere; its id."""
    headers = {**HEADERS}
    answer = osb.provision(
        "secretive",
        "mock-async",
        "manual",
        accepts_incomplete=True,
        parameters=PARAMETERS,
        context={"platform": "cloudfoundry", "api_key": "leak-api-key-03"},
        headers=headers,
    )
    assert answer.status == 202, answer.text
    provision = answer.json["operation"]
    assert admin.post(f"/admin/operations/{provision}", {"state": "succeeded"}).status == 200
    service_id, _ = osb.ids("mock-async", "manual")
    updated = osb.patch(
        "/v2/service_instances/secretive",
        {"service_id": service_id, "parameters": PARAMETERS},
        query={"accepts_incomplete": "true", **QUERY},
        headers=headers,
    )
    assert updated.status == 202, updated.text
    return "secretive"


def exits(admin: OSB, instance_id: str) -> dict[str, str]:
    """Every place the admin side shows data, as text."""
    auth = {"Authorization": ADMIN}
    with admin.client.stream("GET", "/admin/requests.jsonl", headers=auth) as lines:
        jsonl = "".join(lines.iter_text())
    operations = admin.get("/admin/operations").json["operations"]
    pending = next(op for op in operations if op["type"] == "update")
    return {
        "journal": admin.get("/admin/requests").text,
        "journal.jsonl": jsonl,
        "state": admin.get("/admin/state").text,
        "operations": admin.get("/admin/operations").text,
        "operation": admin.get(f"/admin/operations/{pending['id']}").text,
        "dashboard": admin.get("/dashboard").text,
        "dashboard instance": admin.get(f"/dashboard/instances/{instance_id}").text,
    }


def test_secrets_are_redacted_in_the_journal_state_operations_and_dashboard(
    planted: str, admin: OSB
) -> None:
    for where, text in exits(admin, planted).items():
        leaked = [mark for mark in LEAK_MARKS if mark in text]
        assert not leaked, f"{where} shows {leaked}"
    state = admin.get("/admin/state").text
    assert all(shown in state for shown in VISIBLE), state[:2000]


def test_the_stored_data_still_holds_them_for_whoever_asks_with_credentials_true(
    planted: str, admin: OSB
) -> None:
    revealed = admin.get("/admin/state", query={"credentials": "true"}).text
    assert "leak-pwd-02" in revealed and "leak-uri-07" in revealed
    operations = admin.get("/admin/operations", query={"credentials": "true"}).text
    assert "leak-mysql-12" in operations


def test_the_log_holds_no_secret(planted: str, admin: OSB, server: RunningServer) -> None:
    exits(admin, planted)  # every exit once more, so their log lines are in
    log = server.log()
    assert "secretive" in log
    leaked = [mark for mark in LEAK_MARKS if mark in log]
    assert not leaked, leaked


def test_data_files_are_private_to_their_owner(server: RunningServer, planted: str) -> None:
    data = server_data(server)
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    files = [path for path in data.rglob("*") if path.is_file()]
    assert "broker.db" in {path.name for path in files}
    assert any(path.parent.name == "broker.journal" for path in files)
    loose = {str(path): oct(stat.S_IMODE(path.stat().st_mode)) for path in files}
    assert {path: mode for path, mode in loose.items() if mode != "0o600"} == {}
    folders = [path for path in data.rglob("*") if path.is_dir()]
    assert all(stat.S_IMODE(path.stat().st_mode) == 0o700 for path in folders), folders


def test_files_left_world_readable_by_an_older_version_are_made_private(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    names = ("broker.db", "broker.journal.db", "broker.findings.db")
    for name in names:
        (data / name).touch(mode=0o644)
        (data / name).chmod(0o644)
    with serve(tmp_path, env=dict(ADMIN_ENV)):
        modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in data.glob("*.db")}
    # The older journal database is carried over into segments and removed.
    assert modes == dict.fromkeys(("broker.db", "broker.findings.db"), 0o600)


@pytest.fixture(scope="module")
def unready(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server whose credential backend cannot be reached, with a password in its URL."""
    env = {
        **ADMIN_ENV,
        "BROKER_POSTGRES_URL": "postgresql://admin:leak-readyz-21@127.0.0.1:1/postgres",
    }
    folder = tmp_path_factory.mktemp("unready")
    with serve(folder, "--catalog", str(REAL / "postgresql.yaml"), env=env) as running:
        yield running


def test_readyz_says_only_ok_or_not_to_callers_without_the_admin_credentials(
    server: RunningServer, unready: RunningServer
) -> None:
    for url, status, word in ((server.url, 200, "ok"), (unready.url, 503, "unavailable")):
        for authorization in (None, basic(), basic("admin", "wrong"), "Bearer x"):
            headers = {"Authorization": authorization} if authorization else {}
            answer = httpx.get(f"{url}/readyz", headers=headers, timeout=30)
            assert answer.status_code == status
            assert answer.json() == {"status": word}, answer.text


def test_readyz_details_go_to_the_admin_credentials_without_secrets(
    unready: RunningServer,
) -> None:
    with callers(unready) as (_, admin):
        answer = admin.get("/readyz")
    assert answer.status == 503
    checks = answer.json["checks"]
    assert checks["store"] == "ok" and checks["backend:postgres"] != "ok"
    assert "leak-readyz-21" not in answer.text
