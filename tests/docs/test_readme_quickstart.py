"""The README's quickstart, pasted into a shell against a real server, does what it says.

Its blocks run as every documented block does (:mod:`tests.support.doc_sessions`:
bash and curl against ``mockbroker serve`` on a free port, one terminal for the
whole section); this module also reads what they printed, and runs the ``make run``
line that shows another port.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.doc_sessions import BlockResult, DocSession, describe
from tests.support.markdown import Block, blocks_of, sessions_of

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
STATUS_LINE = re.compile(r"^(.*) (\d{3})$")
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"


def quickstart_blocks() -> list[Block]:
    """The blocks of the README's "Quickstart" section, in order."""
    lines = README.read_text().splitlines()
    start = lines.index("## Quickstart")
    end = next(n for n in range(start + 1, len(lines)) if lines[n].startswith("## "))
    return [block for block in blocks_of(README) if start < block.line <= end]


def statuses(result: BlockResult) -> list[int]:
    return [
        int(m.group(2)) for line in result.stdout.splitlines() if (m := STATUS_LINE.match(line))
    ]


@pytest.fixture(scope="module")
def curl() -> None:
    if shutil.which("curl") is None or shutil.which("bash") is None:
        pytest.skip("the quickstart is written for bash and curl, which this machine lacks")


@pytest.fixture
def quickstart(curl: None, tmp_path: Path) -> Iterator[tuple[DocSession, list[BlockResult]]]:
    session = DocSession(sessions_of(README)["quickstart"], tmp_path / "reader")
    results = session.run()
    assert describe(results, session) == ""
    yield session, results


def test_the_quickstart_starts_with_make_run_another_port_and_make_test() -> None:
    first = quickstart_blocks()[0].text.splitlines()
    assert [line.split("#")[0].strip() for line in first] == [
        "make run",
        "BROKER_PORT=9090 make run",
        "make test",
    ]


def test_the_pasted_quickstart_walks_a_whole_lifecycle(
    quickstart: tuple[DocSession, list[BlockResult]],
) -> None:
    _, results = quickstart
    lifecycle, asynchronous, inspection = results[:3]
    assert [result.block for result in results[:3]] == quickstart_blocks()[1:4]

    # provision 201, again 200, different 409, bad parameters 400, bind 201,
    # unbind 200, deprovision 200, deprovision again 410
    assert statuses(lifecycle) == [201, 200, 409, 400, 201, 200, 200, 410]
    lines = lifecycle.stdout.splitlines()
    catalog = json.loads(lines[0])
    assert "mock-database" in {service["name"] for service in catalog["services"]}
    assert "$.storage_gb: 0 is less than the minimum of 1" in lifecycle.stdout
    assert "$.version: '9' is not one of" in lifecycle.stdout
    binding = json.loads(STATUS_LINE.match(lines[6]).group(1))  # type: ignore[union-attr]
    assert binding["credentials"]["password"]

    # provision 202, GET 404 while in progress, GET 200 once succeeded, deprovision 200
    assert statuses(asynchronous) == [202, 404, 200, 200]
    polls = [json.loads(line) for line in asynchronous.stdout.splitlines()[2:4]]
    assert [poll["state"] for poll in polls] == ["in progress", "succeeded"]

    journal, state = (json.loads(line) for line in inspection.stdout.splitlines())
    provisions = [entry for entry in journal["requests"] if entry["instance_id"] == "my-db"]
    assert [entry["status"] for entry in provisions] == [201, 200, 409]
    assert provisions[0]["headers"]["Authorization"] == "[redacted]"
    assert state["instances"] == [] and state["bindings"] == []


def test_the_manual_plan_example_finishes_the_operation_it_started(
    quickstart: tuple[DocSession, list[BlockResult]],
) -> None:
    _, results = quickstart
    manual = next(result for result in results if "OPERATION=$(" in result.block.text)
    operation, in_progress, finished, failed = manual.stdout.splitlines()
    assert re.fullmatch(r"provision-[0-9a-f-]+", operation)
    assert json.loads(in_progress)["state"] == "in progress"
    assert finished.endswith(" 200")
    assert json.loads(failed) == {"state": "failed", "description": "out of capacity"}


def test_make_run_serves_on_the_port_the_quickstart_shows(tmp_path: Path) -> None:
    """``BROKER_PORT=… make run``, as the quickstart shows it (with 0: a free port)."""
    line = next(
        line.split("#")[0].strip()
        for line in quickstart_blocks()[0].text.splitlines()
        if line.startswith("BROKER_PORT=")
    )
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    environment = {
        "PATH": SYSTEM_PATH,  # a new terminal: .venv/bin is not on PATH yet
        "HOME": str(tmp_path),
        "BROKER_DATA_DIR": str(tmp_path / "data"),
        "BROKER_STORE": "memory://",
    }
    installed = subprocess.run(
        ["make", "-q", "install"], cwd=ROOT, env=environment, capture_output=True, check=False
    )
    if installed.returncode != 0:
        pytest.skip("`make run` would install first (.venv is missing or older than pyproject)")
    log = tmp_path / "make-run.log"
    with open(log, "w") as output:
        process = subprocess.Popen(
            ["bash", "-c", re.sub(r"BROKER_PORT=\d+", "BROKER_PORT=0", line)],
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while not (found := re.search(r"listening on (http://\S+)", log.read_text())):
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        url = found.group(1)
        assert not url.endswith(":8080")
        assert httpx.get(f"{url}/livez", timeout=10).status_code == 200
        banner = log.read_text()
        assert f"  dashboard:  {url}/dashboard  same user and password" in banner
        # The quickstart's way to put mockbroker on PATH, said by `make run` too.
        assert "  note:       mockbroker is not on PATH; `. .venv/bin/activate` puts it there" in (
            banner
        )
        assert "`. .venv/bin/activate` puts it on your `PATH`" in README.read_text()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
