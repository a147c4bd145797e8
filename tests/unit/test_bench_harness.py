"""The benchmark's own parts: the bare reference app, the store fill and the statistics."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bench.bare import ROUTES, create_bare_app
from bench.fill import fill_instances
from bench.lifecycle import LIFECYCLE_PLAN, LIFECYCLE_SERVICE, lifecycle_ids
from bench.report import percentile
from bench.servers import BenchError
from broker.app import create_app
from broker.catalog.model import Catalog
from broker.config import Settings
from broker.storage.sqlite import SQLiteStore
from broker.web.runtime import runtime_of

ROOT = Path(__file__).resolve().parents[2]
LUA = ROOT / "bench" / "lua"


def test_the_bare_app_answers_the_bench_routes_with_the_given_bytes() -> None:
    statuses = [200, 201, 202, 200, 201]
    answers = {
        name: {"status": statuses[index], "body": f'{{"n":{index}}}'}
        for index, name in enumerate(ROUTES)
    }
    client = create_bare_app(answers).test_client()
    for index, (name, (method, rule)) in enumerate(ROUTES.items()):
        path = rule.replace("<instance_id>", "i-1").replace("<binding_id>", "b-1")
        answer = client.open(path, method=method)
        expected = (statuses[index], f'{{"n":{index}}}')
        assert (answer.status_code, answer.get_data(as_text=True)) == expected
        assert answer.mimetype == "application/json", name


def test_the_fill_stores_instances_the_broker_can_read(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'broker.db'}"
    fill_instances(url, 7001, service_id="svc", plan_id="plan")
    store = SQLiteStore(url)
    assert len(store.list_instances()) == 7001
    found = store.get_instance("bench-fill-0007000")
    assert found is not None and (found.service_id, found.plan_id, found.state) == (
        "svc",
        "plan",
        "ready",
    )


def test_percentiles_are_nearest_rank() -> None:
    ordered = [float(value) for value in range(1, 101)]
    assert percentile(ordered, 0.50) == 50.0
    assert percentile(ordered, 0.99) == 99.0
    assert percentile([3.0], 0.99) == 3.0


def test_the_lua_scripts_are_shipped() -> None:
    assert {path.name for path in LUA.glob("*.lua")} == {"catalog.lua", "lifecycle.lua"}


def test_the_lifecycle_plan_is_looked_up_by_name(tmp_path: Path) -> None:
    app = create_app(Settings(store="memory://", data_dir=tmp_path))
    catalog = runtime_of(app).catalogs.catalog
    service_id, plan_id = lifecycle_ids(catalog)
    plan = catalog.plan(plan_id)
    assert plan is not None
    assert (plan.service_id, plan.service_name, plan.name) == (
        service_id,
        LIFECYCLE_SERVICE,
        LIFECYCLE_PLAN,
    )
    assert lifecycle_ids() == (service_id, plan_id)  # the bundled catalogs by default
    with pytest.raises(BenchError, match=f"lacks {LIFECYCLE_SERVICE}/{LIFECYCLE_PLAN}"):
        lifecycle_ids(Catalog(()))


def test_the_budget_table_says_met_or_missed_for_every_target() -> None:
    from bench.targets import Target, render_targets

    table = render_targets(
        [Target("fast", "<= 1 ms", "0.5 ms", True), Target("slow", "<= 1 ms", "2 ms", False, "why")]
    )
    rows = table.splitlines()[1:]
    assert rows[0].split()[-1] == "met"
    assert rows[1].endswith("MISSED  (why)")


def test_the_profile_split_attributes_time_to_its_owner() -> None:
    import cProfile
    import pstats

    from bench.targets import profile_split
    from broker.decoding import decode_json

    app = create_bare_app({name: {"status": 200, "body": "{}"} for name in ROUTES})
    client = app.test_client()
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(50):
        client.get("/v2/catalog")
        decode_json(b'{"a": [1, 2, 3]}')
    profile.disable()
    shares = profile_split(pstats.Stats(profile))
    assert set(shares) == {"broker", "framework", "SQLite", "libraries"}
    assert abs(sum(shares.values()) - 1) < 1e-9
    assert shares["framework"] > 0.3 and shares["broker"] > 0 and shares["SQLite"] == 0


STARTS_A_SERVER_AND_WAITS = """
import sys, time
from pathlib import Path

from bench.__main__ import stop_on_terminate
from bench.servers import start_bare

stop_on_terminate()
server = start_bare("bare", Path(sys.argv[1]), workers=1, threads=1, cpus=None)
try:
    print(server.process.pid, flush=True)
    time.sleep(120)
finally:
    server.stop()
"""


def test_a_terminated_bench_stops_the_servers_it_started(tmp_path: Path) -> None:
    answers = {name: {"status": 200, "body": "{}"} for name in ROUTES}
    responses = tmp_path / "responses.json"
    responses.write_text(json.dumps(answers))
    with subprocess.Popen(
        [sys.executable, "-c", STARTS_A_SERVER_AND_WAITS, str(responses)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    ) as bench:
        assert bench.stdout is not None
        server_pid = int(bench.stdout.readline())
        try:
            os.killpg(server_pid, 0)  # the server's own session is running
            bench.send_signal(signal.SIGTERM)
            assert bench.wait(timeout=30) == 128 + signal.SIGTERM
            with pytest.raises(ProcessLookupError):
                os.killpg(server_pid, 0)
        finally:
            if bench.poll() is None:
                bench.kill()
            with contextlib.suppress(ProcessLookupError):  # a server left behind
                os.killpg(server_pid, signal.SIGKILL)
