"""The README's quickstart, pasted into a shell against a real server, does what it says.

The ``sh`` blocks of the "Quickstart" section (all but the first, which holds the
``make`` commands) run in bash with curl against ``mockbroker serve`` on a free port
instead of 127.0.0.1:8080, one after the other as a reader pastes them into one
terminal (the variables set by the first stay set).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.servers import serve

pytestmark = pytest.mark.server

README = Path(__file__).resolve().parent.parent / "README.md"
README_ADDRESS = "http://127.0.0.1:8080"
STATUS_LINE = re.compile(r"^(.*) (\d{3})$")


def quickstart_blocks() -> list[str]:
    section = README.read_text().split("\n## Quickstart\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, re.S)


def run_pasted(script: str, url: str) -> list[str]:
    """Run ``script`` in bash with the README's address replaced by ``url``; its output lines."""
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script.replace(README_ADDRESS, url)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    # curl prints bodies without a newline: a body and the next one share a line.
    return result.stdout.splitlines()


def assignments(block: str) -> str:
    """The variable assignments of an earlier block, which stay set in the reader's shell."""
    return "\n".join(line for line in block.splitlines() if re.match(r"^[A-Z0-9_]+=", line))


def statuses(lines: list[str]) -> list[int]:
    return [int(match.group(2)) for line in lines if (match := STATUS_LINE.match(line))]


@pytest.fixture(scope="module")
def curl() -> None:
    if shutil.which("curl") is None or shutil.which("bash") is None:
        pytest.skip("the quickstart is written for bash and curl, which this machine lacks")


def test_the_quickstart_starts_with_make_run_and_make_test() -> None:
    first = quickstart_blocks()[0]
    assert "make run" in first and "make test" in first


def test_the_pasted_quickstart_walks_a_whole_lifecycle(curl: None, tmp_path: Path) -> None:
    lifecycle, asynchronous, inspection = quickstart_blocks()[1:4]
    with serve(tmp_path) as server:
        base = server.url
        lines = run_pasted(lifecycle, base)
        # provision 201, again 200, different 409, bad parameters 400, bind 201,
        # unbind 200, deprovision 200, deprovision again 410
        assert statuses(lines) == [201, 200, 409, 400, 201, 200, 200, 410]
        catalog = json.loads(lines[0].split('{"dashboard_url"')[0])
        assert "mock-database" in {service["name"] for service in catalog["services"]}
        output = "\n".join(lines)
        assert "$.storage_gb: 0 is less than the minimum of 1" in output
        assert "$.version: '9' is not one of" in output
        assert '"credentials":{' in output and '"password":"' in output

        lines = run_pasted(assignments(lifecycle) + "\n" + asynchronous, base)
        # provision 202, GET 404 while in progress, GET 200 once succeeded, deprovision 200
        assert statuses(lines) == [202, 404, 200, 200]
        output = "\n".join(lines)
        assert output.index('{"state":"in progress"}') < output.index('{"state":"succeeded"}')

        lines = run_pasted(inspection, base)
        requests_part, state_part = lines[0].split('}{"instances"', 1)
        journal = json.loads(requests_part + "}")
        provisions = [entry for entry in journal["requests"] if entry["instance_id"] == "my-db"]
        assert [entry["status"] for entry in provisions] == [201, 200, 409]
        assert provisions[0]["headers"]["Authorization"] == "[redacted]"
        state = json.loads('{"instances"' + state_part)
        assert state["instances"] == [] and state["bindings"] == []
