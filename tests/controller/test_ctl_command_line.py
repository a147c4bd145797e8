"""``mockbroker ctl`` as kubectl and svcat users expect it: ``reconcile --wait`` that
says why and stops when waiting cannot help, kubectl's error lines, short names and
``KIND/NAME``, global flags after the subcommand, and the seed's broker URL set from
the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from broker.cli import main
from tests.controller.conftest import AdminAPI, broker_manifest, run_ctl
from tests.controller.test_ctl_instances import instance
from tests.support.ports import free_port
from tests.support.servers import RunningServer

SEED = Path(__file__).resolve().parents[2] / "examples" / "seed"


def ctl(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, ["ctl", *args], input=stdin, catch_exceptions=False)


@pytest.mark.server
def test_reconcile_wait_stops_at_once_on_a_broker_that_is_down_and_says_why(
    tmp_path: Path,
) -> None:
    port = free_port()
    state = tmp_path / "ctl"
    manifests = (
        broker_manifest(f"http://127.0.0.1:{port}")
        + "---"
        + instance("db", "mock-database", "small")
    )
    assert run_ctl(state, "apply", "-f", "-", stdin=manifests).returncode == 0
    waited = run_ctl(state, "reconcile", "--wait")  # --timeout is 5 minutes
    assert waited.returncode == 1
    cause = (
        f"Get http://127.0.0.1:{port}/v2/catalog: dial tcp 127.0.0.1:{port}: "
        "connect: connection refused"
    )
    # The live stream names the cause once, as Service Catalog's event says it.
    assert waited.stdout.count(f"ErrorFetchingCatalog: Error getting broker catalog: {cause}") == 1
    assert waited.stderr.splitlines()[:2] == [
        "error: waiting will not settle these:",
        "  ClusterServiceBroker mockbroker: ErrorFetchingCatalog: Error fetching catalog."
        f"Error getting broker catalog: {cause} (the broker's catalog cannot be fetched)",
    ]
    assert "(waits for ClusterServiceBroker mockbroker)" in waited.stderr
    # Service Catalog's own semantics stay: not failed, retried by the next reconcile.
    broker = run_ctl(state, "get", "csb", "mockbroker").stdout.splitlines()[1].split()
    assert broker[2] == "ErrorFetchingCatalog"


@pytest.mark.server
def test_reconcile_wait_stops_at_once_on_a_misspelled_class_and_suggests_the_name(
    tmp_path: Path, server: RunningServer, admin_api: AdminAPI
) -> None:
    state = tmp_path / "ctl"
    manifests = broker_manifest(server.url) + "---" + instance("db", "mock-databse", "small")
    assert run_ctl(state, "apply", "-f", "-", stdin=manifests).returncode == 0
    waited = run_ctl(state, "reconcile", "--wait")
    assert waited.returncode == 1
    assert "ReferencesNonexistentServiceClass: The instance references a ClusterServiceClass" in (
        waited.stdout
    )
    assert waited.stderr.splitlines()[1].endswith(
        "(no broker's catalog has this class; did you mean 'mock-database'?)"
    )
    assert admin_api.calls("provision") == []


def test_errors_are_one_kubectl_line(tmp_path: Path) -> None:
    missing = ctl("--state-dir", str(tmp_path), "get", "si", "nope", "-n", "apps")
    assert missing.exit_code == 1
    assert missing.stderr == (
        'Error from server (NotFound): serviceinstances.servicecatalog.k8s.io "nope" not found\n'
    )
    unknown = ctl("--state-dir", str(tmp_path), "get", "widgets")
    assert unknown.exit_code == 1
    assert unknown.stderr.startswith('error: the server doesn\'t have a resource type "widgets"')
    assert "Error: " not in missing.stderr + unknown.stderr


@pytest.mark.parametrize(
    "names",
    [
        ("si", "serviceinstance", "serviceinstances", "ServiceInstance"),
        ("sb", "servicebinding", "servicebindings"),
        ("csb", "clusterservicebroker", "clusterservicebrokers"),
        ("csc", "clusterserviceclass", "clusterserviceclasses"),
        ("csp", "clusterserviceplan", "clusterserviceplans.servicecatalog.k8s.io"),
    ],
)
def test_kinds_have_kubectls_short_singular_and_plural_names(
    tmp_path: Path, names: tuple[str, ...]
) -> None:
    state = tmp_path / "ctl"
    assert ctl("--state-dir", str(state), "apply", "-f", str(SEED)).exit_code == 0
    answers = [ctl("--state-dir", str(state), "get", name, "-A", "-o", "yaml") for name in names]
    assert [answer.exit_code for answer in answers] == [0] * len(names)
    assert len({answer.stdout for answer in answers}) == 1  # one kind, whatever the name


def test_kind_slash_name_works_in_get_describe_and_delete(tmp_path: Path) -> None:
    state = str(tmp_path / "ctl")
    assert ctl("--state-dir", state, "apply", "-f", str(SEED)).exit_code == 0
    got = ctl("--state-dir", state, "get", "si/cloud-queue-instance", "-n", "cloud-apps")
    assert got.stdout.splitlines()[1].split()[0] == "cloud-queue-instance"
    described = ctl("--state-dir", state, "describe", "sb/cloud-queue-binding", "-n", "cloud-apps")
    assert described.stdout.startswith("Name:         cloud-queue-binding")
    both = ctl("--state-dir", state, "get", "si/cloud-queue-instance", "other")
    assert both.exit_code == 1 and "no need to specify a resource type" in both.stderr
    deleted = ctl("--state-dir", state, "delete", "secret/mockbroker-auth", "-n", "cloud-apps")
    assert deleted.stdout == 'secret "mockbroker-auth" deleted\n'


def test_global_flags_may_follow_the_subcommand(tmp_path: Path) -> None:
    state, secrets = tmp_path / "state", tmp_path / "volumes"
    applied = ctl(
        "apply", "-f", str(SEED), "--state-dir", str(state), "--secrets-dir", str(secrets)
    )
    assert applied.exit_code == 0, applied.output
    assert (secrets / "cloud-apps" / "mockbroker-auth" / "password").read_text() == "broker"
    listed = ctl("get", "csb", "--state-dir", str(state))
    assert listed.stdout.splitlines()[1].split()[:2] == ["mockbroker", "http://127.0.0.1:8080"]
    # After the subcommand wins over before it, as the flag closest to the command does.
    elsewhere = ctl("--state-dir", str(tmp_path / "other"), "get", "csb", "--state-dir", str(state))
    assert "mockbroker" in elsewhere.stdout
    assert "--state-dir" not in ctl("get", "--help").stdout  # documented once, on ctl itself


@pytest.mark.server
def test_the_seed_broker_url_is_set_without_editing_the_file(
    tmp_path: Path, server: RunningServer, admin_api: AdminAPI
) -> None:
    state = tmp_path / "ctl"
    before = (SEED / "01-broker.yaml").read_text()
    applied = run_ctl(state, "apply", "-f", str(SEED), "--broker-url", server.url)
    assert applied.returncode == 0, applied.stderr
    assert (SEED / "01-broker.yaml").read_text() == before
    listed = run_ctl(state, "get", "csb").stdout.splitlines()[1].split()
    assert listed[:2] == ["mockbroker", server.url]
    done = run_ctl(state, "reconcile", "--wait", env={"BROKER_CTL_POLL_MAX": "1s"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert [entry["status"] for entry in admin_api.journal(operation="catalog")] == [200]
    again = run_ctl(state, "apply", "-f", str(SEED / "02-instance.yaml"), "--broker-url", "x")
    assert again.returncode == 1
    assert again.stderr.strip() == (
        "error: --broker-url was given, but the manifests hold no ClusterServiceBroker"
    )
