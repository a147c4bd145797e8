"""``python -m bench fixture``: what the pytest plugin's ``osb_broker`` fixture costs a test.

It writes a throwaway test project into a temporary folder: ``--tests`` no-op tests
that only take ``osb_broker``, as many lifecycle tests (provision, bind, unbind,
deprovision through ``osb_broker.client``) and one test that times catalog requests
through the fixture's client. pytest runs each set alone, without and with
``-n 2`` (pytest-xdist), in a fresh process. A small conftest records every test
phase's duration as pytest measures it; the bench reads them back and prints:

- the median overhead of ``osb_broker`` per test: setup + call + teardown of a no-op
  test (reset and handle), and setup + teardown of a lifecycle test;
- the median time of one in-process catalog request through the fixture's client;
- the first test's setup (the session's broker starting; under xdist the slowest
  worker's first test);
- wall-clock totals of each pytest run;

and compares them with the budgets (:data:`BUDGETS`), printing met or missed.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["BUDGETS", "RunResult", "main", "run_suite", "write_project"]

# Budgets in milliseconds.
BUDGETS = {
    "overhead": 1.0,
    "catalog": 0.3,
    "first_setup": 200.0,
}
CATALOG_REQUESTS = 500
OUT_ENV = "MOCKBROKER_BENCH_FIXTURE_OUT"

CONFTEST = '''\
"""Records each test phase's duration (as pytest measures it) for the bench."""

import json
import os

import pytest

_PHASES = []


def pytest_runtest_logreport(report):
    _PHASES.append([report.nodeid, report.when, report.duration, report.outcome])


def pytest_sessionfinish(session):
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker is None and getattr(session.config.option, "numprocesses", None):
        return  # the xdist controller: each worker writes its own phases
    out = os.environ["MOCKBROKER_BENCH_FIXTURE_OUT"]
    with open(os.path.join(out, f"phases-{worker or 'main'}.json"), "w") as handle:
        json.dump(_PHASES, handle)
'''

BARE = """\
import pytest


@pytest.mark.parametrize("n", range({count}))
def test_bare(n):
    pass
"""

NOOP = """\
import pytest


@pytest.mark.parametrize("n", range({count}))
def test_noop(osb_broker, n):
    pass
"""

LIFECYCLE = """\
import pytest


@pytest.mark.parametrize("n", range({count}))
def test_lifecycle(osb_broker, n):
    client = osb_broker.client
    service_id, plan_id = osb_broker.ids("mock-async", "sync")
    instance_id, binding_id = osb_broker.new_instance_id(), osb_broker.new_binding_id()
    assert client.provision(instance_id, service_id, plan_id, organization_guid="o",
                            space_guid="s").status == 201
    assert client.bind(instance_id, binding_id, service_id, plan_id).status == 201
    assert client.unbind(instance_id, binding_id, service_id, plan_id).status == 200
    assert client.deprovision(instance_id, service_id, plan_id).status == 200
"""

CATALOG = """\
import json
import os
import time


def test_catalog_requests(osb_broker):
    client = osb_broker.client
    client.catalog()
    took = []
    for _ in range({count}):
        start = time.perf_counter()
        client.catalog()
        took.append(time.perf_counter() - start)
    alone = []
    server = getattr(osb_broker.endpoint, "server", None)
    if server is not None:
        # The same request handed to the WSGI application directly: no client, no socket.
        from werkzeug.test import EnvironBuilder, run_wsgi_app

        environ = EnvironBuilder(
            path="/v2/catalog", headers={{"X-Broker-API-Version": "2.17"}},
            auth=osb_broker.auth,
        ).get_environ()
        for _ in range({count}):
            start = time.perf_counter()
            body, _, _ = run_wsgi_app(server.app, dict(environ))
            b"".join(body)
            alone.append(time.perf_counter() - start)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with open(os.path.join(os.environ["{out_env}"], f"catalog-{{worker}}.json"), "w") as out:
        json.dump({{"fixture": took, "app": alone}}, out)
"""

# A session start in a fresh interpreter, phase by phase, in CPU time: what the first
# test's setup pays (the session's broker starting, the first reset), then what its
# first client call adds (httpx and the client, an in-process catalog request), plus
# the plugin's own import, which pytest pays at its start.
STARTUP = """\
import json, sys, time
now = time.process_time
marks = [("start", now())]
import pytest
marks.append(("pytest", now()))
import broker.testing.pytest_plugin
marks.append(("plugin module", now()))
from broker.testing.osb_broker import BrokerEndpoint
from broker.config import Settings
marks.append(("setup: handle, settings", now()))
from broker.testing.threaded_server import ThreadedBrokerServer
marks.append(("setup: threaded server (flask, werkzeug)", now()))
import broker.app
marks.append(("setup: broker.app (the application's modules)", now()))
server = ThreadedBrokerServer.for_settings(Settings(store="memory://", port=0)).start()
marks.append(("setup: create_app and start", now()))
server.reset()
marks.append(("setup: reset", now()))
import httpx
marks.append(("first call: httpx", now()))
from broker.testing.in_process import InProcessTransport
endpoint = BrokerEndpoint(url=server.url, dedicated=True, server=server)
client = endpoint.client(transport=InProcessTransport(server.app, server.host, server.port))
marks.append(("first call: the client's modules, a client", now()))
client.catalog()
marks.append(("first call: an in-process catalog request", now()))
server.stop()
json.dump([[name, (at - marks[i][1]) * 1000] for i, (name, at) in enumerate(marks[1:])], sys.stdout)
"""

INI = """\
[pytest]
addopts = -p no:cacheprovider -q
"""


def write_project(
    folder: Path, count: int, catalog_requests: int = CATALOG_REQUESTS
) -> dict[str, Path]:
    """The test project's files in ``folder``; answers the test file of each set."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pytest.ini").write_text(INI)
    (folder / "conftest.py").write_text(CONFTEST)
    files = {
        "pytest": ("test_bare.py", BARE.format(count=count)),
        "no-op": ("test_noop.py", NOOP.format(count=count)),
        "lifecycle": ("test_lifecycle.py", LIFECYCLE.format(count=count)),
        "catalog": ("test_catalog.py", CATALOG.format(count=catalog_requests, out_env=OUT_ENV)),
    }
    found: dict[str, Path] = {}
    for name, (file_name, text) in files.items():
        (folder / file_name).write_text(text)
        found[name] = folder / file_name
    return found


@dataclass
class RunResult:
    """One pytest run of one test set."""

    name: str
    workers: int
    wall: float  # seconds, the whole pytest process
    per_test: list[float]  # milliseconds of fixture overhead per test
    calls: list[float]  # milliseconds of each test's call phase
    first_setup: float  # milliseconds
    catalog: list[float]  # milliseconds per catalog request (the catalog set only)
    catalog_app: list[float]  # the same request handed to the WSGI app alone
    passed: int
    failed: int


def run_suite(project: Path, test_file: Path, name: str, workers: int) -> RunResult:
    """Run pytest on one test file in a fresh process and read back what it recorded."""
    out = Path(tempfile.mkdtemp(prefix="phases-", dir=project))
    command = [sys.executable, "-m", "pytest", str(test_file.name)]
    if workers:
        command += ["-n", str(workers)]
    env = {**os.environ, OUT_ENV: str(out)}
    start = time.perf_counter()
    finished = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    phases: list[list[Any]] = []
    catalog: list[float] = []
    first_setups: list[float] = []
    first_nodes: set[str] = set()
    for path in sorted(out.glob("phases-*.json")):
        recorded = json.loads(path.read_text())
        phases += recorded
        setups = [(node, duration) for node, when, duration, _ in recorded if when == "setup"]
        if setups:
            first_nodes.add(setups[0][0])
            first_setups.append(setups[0][1] * 1000)
    app_alone: list[float] = []
    for path in sorted(out.glob("catalog-*.json")):
        found = json.loads(path.read_text())
        catalog += [seconds * 1000 for seconds in found["fixture"]]
        app_alone += [seconds * 1000 for seconds in found["app"]]
    if not phases:
        raise RuntimeError(
            f"pytest recorded nothing for {name} (exit {finished.returncode}):\n"
            + finished.stdout[-3000:]
            + finished.stderr[-3000:]
        )
    tests: dict[str, dict[str, float]] = {}
    outcomes: dict[str, str] = {}
    for node, when, duration, outcome in phases:
        tests.setdefault(node, {})[when] = duration * 1000
        if outcome != "passed" or node not in outcomes:
            outcomes[node] = outcome
    whole = name in ("no-op", "pytest")
    # The first test of each process pays the session start: kept out of the medians.
    later = [times for node, times in tests.items() if node not in first_nodes]
    per_test = [
        times.get("setup", 0.0) + times.get("teardown", 0.0) + (times.get("call", 0.0) * whole)
        for times in later
    ]
    calls = [times.get("call", 0.0) for times in later]
    failed = sum(1 for outcome in outcomes.values() if outcome != "passed")
    return RunResult(
        name=name,
        workers=workers,
        wall=wall,
        per_test=per_test,
        calls=calls,
        first_setup=max(first_setups),
        catalog=catalog,
        catalog_app=app_alone,
        passed=len(outcomes) - failed,
        failed=failed,
    )


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def verdict(value: float, budget: float) -> str:
    return "met" if value <= budget else "MISSED"


def report(results: list[RunResult]) -> list[dict[str, Any]]:
    """Print one table of the runs and the budget lines; answers the rows printed."""
    rows: list[dict[str, Any]] = []
    print(
        f"{'set':<10} {'xdist':>5} {'tests':>6} {'failed':>6} {'wall s':>8} "
        f"{'overhead ms (median)':>21} {'call ms (median)':>17} {'first setup ms':>15}"
    )
    for result in results:
        row = {
            "set": result.name,
            "workers": result.workers,
            "tests": result.passed + result.failed,
            "failed": result.failed,
            "wall_s": round(result.wall, 2),
            "overhead_ms": round(_median(result.per_test), 3),
            "call_ms": round(_median(result.calls), 3),
            "first_setup_ms": round(result.first_setup, 1),
        }
        if result.catalog:
            row["catalog_ms"] = round(_median(result.catalog), 3)
            row["catalog_app_ms"] = round(_median(result.catalog_app), 3)
        rows.append(row)
        print(
            f"{row['set']:<10} {row['workers'] or '-':>5} {row['tests']:>6} "
            f"{row['failed']:>6} {row['wall_s']:>8} {row['overhead_ms']:>21} "
            f"{row['call_ms']:>17} {row['first_setup_ms']:>15}"
        )
    print()
    for workers in sorted({result.workers for result in results}):
        label = f"with -n {workers}" if workers else "without xdist"
        mine = [result for result in results if result.workers == workers]
        bare = [_median(r.per_test) for r in mine if r.name == "pytest"]
        pytest_alone = bare[0] if bare else 0.0
        raw = max(_median(r.per_test) for r in mine if r.name in ("no-op", "lifecycle"))
        overhead = raw - pytest_alone
        first = max(r.first_setup for r in mine if r.name != "pytest")
        catalog = [value for r in mine for value in r.catalog]
        print(f"budgets {label}:")
        print(
            f"  osb_broker overhead per test (median, worst set) {overhead:8.3f} ms "
            f"<= {BUDGETS['overhead']} ms   {verdict(overhead, BUDGETS['overhead'])}"
        )
        print(
            f"    ({raw:.3f} ms a test, less {pytest_alone:.3f} ms that pytest takes for a "
            "test without the fixture)"
        )
        if catalog:
            median = _median(catalog)
            print(
                f"  in-process catalog request (median)             {median:8.3f} ms "
                f"<= {BUDGETS['catalog']} ms   {verdict(median, BUDGETS['catalog'])}"
            )
            alone = _median([value for r in mine for value in r.catalog_app])
            print(f"    of which the WSGI application alone            {alone:8.3f} ms")
        print(
            f"  first test's setup (slowest process)            {first:8.1f} ms "
            f"<= {BUDGETS['first_setup']} ms   {verdict(first, BUDGETS['first_setup'])}"
        )
    return rows


def startup_phases(runs: int = 3) -> list[tuple[str, float]]:
    """Median milliseconds of each phase of a session start, each run in a fresh interpreter."""
    found: dict[str, list[float]] = {}
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", STARTUP], capture_output=True, text=True, check=True
        )
        for name, took in json.loads(done.stdout):
            found.setdefault(name, []).append(took)
    return [(name, statistics.median(values)) for name, values in found.items()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench fixture", description=__doc__)
    parser.add_argument("--tests", type=int, default=1000, help="tests per set (1000)")
    parser.add_argument(
        "--workers", type=int, default=2, help="pytest-xdist workers of the xdist runs (2; 0: none)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated project")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = parser.parse_args(argv)
    # An installed package has its bytecode; a checkout run with PYTHONDONTWRITEBYTECODE
    # would compile every module in every session start instead.
    import broker

    compileall.compile_dir(Path(broker.__file__).parent, quiet=1)
    project = Path(tempfile.mkdtemp(prefix="mockbroker-fixture-bench-"))
    files = write_project(project, args.tests)
    print(f"test project {project}: {args.tests} no-op and {args.tests} lifecycle tests")
    results: list[RunResult] = []
    for workers in [0] + ([args.workers] if args.workers else []):
        for name in ("pytest", "no-op", "lifecycle", "catalog"):
            results.append(run_suite(project, files[name], name, workers))
    print()
    rows = report(results)
    print("\nwhere a session start goes (CPU, median of 3 fresh interpreters):")
    phases = startup_phases()
    for name, took in phases:
        print(f"  {name:<50} {took:8.1f} ms")
    setup = sum(took for name, took in phases if name.startswith("setup:"))
    print(f"  {'the first setup (setup: ...)':<50} {setup:8.1f} ms")
    print(f"  {'total':<50} {sum(took for _, took in phases):8.1f} ms")
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    if not args.keep:
        import shutil

        shutil.rmtree(project, ignore_errors=True)
    return 1 if any(result.failed for result in results) else 0
