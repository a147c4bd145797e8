"""The container image and the docker-compose demo stack, built and run for real.

Opt-in with MOCKBROKER_CONTAINER_TESTS=1 (see tests/support/containers.py): the image
is built from the Dockerfile, and the whole demo stack is started with
``compose up -d --build --wait`` under its own project name and free loopback ports,
then removed with ``down -v`` whatever happened.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from broker import __version__
from tests.support.containers import (
    ROOT,
    Stack,
    answers,
    compose_command,
    engine_command,
    opted_in,
    run,
    skip_reason,
    unique_name,
    wait_until,
)
from tests.support.osb import basic
from tests.support.ports import free_port

pytestmark = [
    pytest.mark.containers,
    pytest.mark.skipif(not opted_in(), reason=skip_reason()),
    pytest.mark.timeout(1800),
]

DEMO_PASSWORD = "demo-broker-password"
OSB_HEADERS = {"X-Broker-API-Version": "2.17"}


def git_revision() -> str:
    result = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else "unknown"


@pytest.fixture(scope="module")
def engine() -> list[str]:
    return engine_command()


@pytest.fixture(scope="module")
def image(engine: list[str]) -> Iterator[str]:
    """The Dockerfile built under a tag of its own, removed afterwards."""
    tag = f"localhost/{unique_name('mockbroker-test')}:latest"
    labels = {"version": __version__, "revision": git_revision()}  # as make image sets them
    flags = [f"--label=org.opencontainers.image.{key}={value}" for key, value in labels.items()]
    run([*engine, "build", "--tag", tag, *flags, str(ROOT)])
    try:
        yield tag
    finally:
        run([*engine, "rmi", "--force", tag], check=False)


def inspect_image(engine: list[str], image: str) -> dict:
    return json.loads(run([*engine, "image", "inspect", image]).stdout)[0]


def test_the_image_runs_as_a_fixed_non_root_user_with_labels_and_a_healthcheck(engine, image):
    inspected = inspect_image(engine, image)
    config = inspected["Config"]

    assert config["User"] == "10001:10001"
    assert run([*engine, "run", "--rm", "--entrypoint", "id", image]).stdout.startswith(
        "uid=10001(mockbroker)"
    )
    labels = config["Labels"]
    assert labels["org.opencontainers.image.title"] == "mockbroker"
    assert labels["org.opencontainers.image.version"] == __version__
    assert labels["org.opencontainers.image.revision"] == git_revision()
    assert labels["org.opencontainers.image.licenses"] == "Apache-2.0"
    # Docker keeps the healthcheck in Config, podman at the top level.
    healthcheck = config.get("Healthcheck") or inspected.get("Healthcheck")
    assert "/readyz" in " ".join(healthcheck["Test"])
    assert "8080/tcp" in config["ExposedPorts"]
    assert "/var/lib/mockbroker" in config["Volumes"]
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["BROKER_HOST"] == "0.0.0.0"
    assert env["BROKER_CATALOGS"] == "/etc/mockbroker/catalogs"
    assert env["BROKER_DATA_DIR"] == "/var/lib/mockbroker"
    assert "BROKER_PASSWORD" not in env


def test_the_image_refuses_to_listen_with_the_default_password(engine, image):
    result = run([*engine, "run", "--rm", image], check=False, timeout=120)

    assert result.returncode == 2, result.stdout + result.stderr
    assert "refusing to listen on 0.0.0.0 with the default password" in result.stderr
    assert "set BROKER_PASSWORD" in result.stderr


@pytest.fixture
def catalog_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "catalogs"
    folder.mkdir()
    (folder / "mounted.yaml").write_text(
        textwrap.dedent("""\
        services:
          - name: mounted-service
            description: Served from a catalog folder mounted into the container
            bindable: true
            instances_retrievable: true
            plans:
              - name: only
                description: Synchronous provisioning
        """)
    )
    # pytest's temporary folders are private to root; the broker runs as uid 10001.
    for path in (tmp_path, folder):
        path.chmod(0o755)
    return folder


@pytest.fixture
def data_volume(engine: list[str]) -> Iterator[str]:
    name = unique_name("mockbroker-test-data")
    run([*engine, "volume", "create", name])
    try:
        yield name
    finally:
        run([*engine, "volume", "rm", "--force", name], check=False)


def test_a_container_serves_a_mounted_catalog_and_keeps_state_in_its_volume(
    engine, image, catalog_folder, data_volume
):
    port = free_port()
    name = unique_name("mockbroker-test")

    def start() -> None:
        run(
            [
                *engine,
                "run",
                "--detach",
                "--name",
                name,
                "--env",
                "BROKER_PASSWORD=container-secret",
                "--publish",
                f"127.0.0.1:{port}:8080",
                "--volume",
                f"{catalog_folder}:/etc/mockbroker/catalogs:ro",
                "--volume",
                f"{data_volume}:/var/lib/mockbroker",
                image,
            ]
        )

        def healthy() -> bool:
            # The image's own HEALTHCHECK command, run now.
            return (
                run([*engine, "healthcheck", "run", name], check=False, timeout=60).returncode == 0
            )

        wait_until(healthy, 90, lambda: run([*engine, "logs", name], check=False).stderr)

    def remove() -> None:
        run([*engine, "rm", "--force", "--volumes", name], check=False, timeout=120)

    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": basic("broker", "container-secret"), **OSB_HEADERS}
    instance = f"{base}/v2/service_instances/kept-instance"
    try:
        start()
        catalog = httpx.get(f"{base}/v2/catalog", headers=auth, timeout=10)
        assert catalog.status_code == 200, catalog.text
        assert [service["name"] for service in catalog.json()["services"]] == ["mounted-service"]
        assert httpx.get(f"{base}/v2/catalog", headers=OSB_HEADERS, timeout=10).status_code == 401

        service = catalog.json()["services"][0]
        body = {
            "service_id": service["id"],
            "plan_id": service["plans"][0]["id"],
            "organization_guid": "org",
            "space_guid": "space",
        }
        created = httpx.put(instance, json=body, headers=auth, timeout=10)
        assert created.status_code == 201, created.text

        remove()  # a new container on the same volume sees the instance
        start()
        fetched = httpx.get(instance, headers=auth, timeout=10)
        assert fetched.status_code == 200, fetched.text
        assert fetched.json()["service_id"] == service["id"]
    finally:
        remove()


# --- the demo stack -------------------------------------------------------------------


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """The demo stack, up and healthy; ``down -v`` afterwards whatever happened."""
    deployed = Stack(
        compose=compose_command(),
        project=unique_name("mockbroker-test"),
        env={"MOCKBROKER_PORT": str(free_port()), "DEMO_APP_PORT": str(free_port())},
    )
    try:
        deployed.up()
        yield deployed
    finally:
        deployed.down()


def issued_credentials(broker: str) -> dict[str, dict]:
    """Service name -> the credentials the broker issued for its binding."""
    auth = {"Authorization": basic("broker", DEMO_PASSWORD)}
    catalog = httpx.get(f"{broker}/v2/catalog", headers={**auth, **OSB_HEADERS}, timeout=10)
    names = {service["id"]: service["name"] for service in catalog.json()["services"]}
    state = httpx.get(
        f"{broker}/admin/state", params={"credentials": "true"}, headers=auth, timeout=10
    )
    assert state.status_code == 200, state.text
    return {
        names[binding["service_id"]]: binding["response"]["credentials"]
        for binding in state.json()["bindings"]
    }


def test_the_demo_app_logs_in_to_every_database_as_the_account_its_binding_got(stack):
    demo = stack.url("demo-app", 8000)

    with stack.explained():
        issued = issued_credentials(stack.url("broker", 8080))
        response = httpx.get(f"{demo}/status", timeout=30)
        summary = response.json()
        assert response.status_code == 200, summary
        assert summary["status"] == "connected", summary
        reports = {report["source"]: report for report in summary["credentials"]}
        key, orders, cache = (
            reports["/var/secrets/provider/key.json"],
            reports["/var/secrets/orders-db"],
            reports["/var/secrets/cache"],
        )
        # The walkthrough's key.json: a PostgreSQL role of the binding's own.
        assert key["connection"].startswith("postgresql://"), key
        assert key["user"] == issued["cloud-provider-service"]["username"], (key, issued)
        assert key["database"] == issued["cloud-provider-service"]["database"], (key, issued)
        assert {"key.json", "username", "password", "uri"} <= set(key["secret_files"]), key
        assert orders["connection"].startswith("mysql://"), orders
        assert orders["user"] == issued["mock-mariadb"]["username"], (orders, issued)
        assert cache["connection"].startswith("redis://"), cache
        assert cache["user"] == issued["mock-redis"]["username"], (cache, issued)
        for report in (key, orders, cache):
            assert report["user"] not in ("mockbroker", "root", "default"), report
            assert report["visits"] >= 1, report

        page = httpx.get(demo, timeout=30)
        assert page.status_code == 200
        assert f"connected to postgresql://{key['user']}:***@postgres:5432/" in page.text
        for credentials in issued.values():
            assert credentials["password"] not in page.text


def test_the_demo_broker_keeps_its_state_in_postgresql(stack, engine):
    query = "SELECT count(*) FROM mockbroker.bindings"
    psql = ["psql", "-U", "mockbroker", "-d", "mockbroker", "-Atc", query]

    with stack.explained():
        issued = issued_credentials(stack.url("broker", 8080))
        rows = run([*engine, "exec", f"{stack.project}-postgres-1", *psql])
        assert set(issued) == {"cloud-provider-service", "mock-mariadb", "mock-redis"}
        assert rows.stdout.strip() == "3"


def test_the_demo_broker_answers_the_catalog_only_with_credentials(stack):
    broker = stack.url("broker", 8080)

    with_credentials = httpx.get(
        f"{broker}/v2/catalog",
        headers={"Authorization": basic("broker", DEMO_PASSWORD), **OSB_HEADERS},
        timeout=10,
    )
    without = httpx.get(f"{broker}/v2/catalog", headers=OSB_HEADERS, timeout=10)

    with stack.explained():
        assert with_credentials.status_code == 200, with_credentials.text
        services = {service["name"]: service for service in with_credentials.json()["services"]}
        plans = [plan["name"] for plan in services["cloud-provider-service"]["plans"]]
        assert plans == ["service-plan-name"]
        assert without.status_code == 401
        assert answers(f"{broker}/readyz")


def test_the_demo_stack_publishes_nothing_but_loopback_ports(stack, engine):
    label = f"label=com.docker.compose.project={stack.project}"
    names = run(
        [*engine, "ps", "--all", "--filter", label, "--format", "{{.Names}}"]
    ).stdout.split()
    published = set()
    for name in names:
        ports = json.loads(run([*engine, "inspect", name]).stdout)[0]["NetworkSettings"]["Ports"]
        for bindings in (ports or {}).values():
            published |= {(name, bound["HostIp"], bound["HostPort"]) for bound in bindings or []}

    # postgres, mariadb, redis, broker, controller (exited), demo-app
    assert len(names) == 6, names
    assert {name for name, _, _ in published} == {
        f"{stack.project}-broker-1",
        f"{stack.project}-demo-app-1",
    }
    assert {host for _, host, _ in published} == {"127.0.0.1"}, published
    assert not {port for _, _, port in published} & {"5432", "3306", "6379"}, published
