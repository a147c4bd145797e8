"""A client cannot forge log lines or drive the terminal through what it sends.

In the text log format, control characters from requests (in the path, an id, the
request id) are written as escapes; only the first line of a record starts at the
left margin. The JSON format escapes them by its nature.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from tests.hostile.conftest import callers
from tests.support.servers import ADMIN_ENV, RunningServer, serve

pytestmark = pytest.mark.server

FORGED = "2026-01-01 00:00:00,000 INFO    [-] broker.request: GET /admin/reset 200 0.1ms"
ATTACKS = [
    "/v2/service_instances/a%0A" + FORGED.replace(" ", "%20"),
    "/v2/service_instances/b%0D%0A" + FORGED.replace(" ", "%20"),
    "/v2/catalog%0A" + FORGED.replace(" ", "%20"),
    "/v2/service_instances/c%1B%5B2J%1B%5B31mred",
    "/admin/nothing%0A" + FORGED.replace(" ", "%20"),
    "/v2/service_instances/d%C2%85next-line",
]


@pytest.fixture(scope="module")
def text_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    env = {**ADMIN_ENV, "BROKER_LOG_FORMAT": "text"}
    with serve(tmp_path_factory.mktemp("text"), env=env) as running:
        yield running


def test_the_text_format_escapes_control_characters_so_no_line_is_forged(
    text_server: RunningServer,
) -> None:
    with callers(text_server) as (osb, admin):
        for path in ATTACKS:
            osb.get(path)
            admin.get(path)
        osb.get("/v2/catalog", headers={"X-Request-ID": "id-with-\x1b[31m-escape"})
    log = text_server.log()
    lines = log.splitlines()
    assert not [line for line in lines if line.startswith("2026-01-01")], "a line was forged"
    assert "\x1b" not in log and "\x85" not in log and "\r" not in log
    assert "/v2/service_instances/a\\n2026-01-01" in log
    assert "c\\x1b[2J\\x1b[31mred" in log
    record_start = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ ")
    # After the start-up banner, every line starts a record or continues one, indented.
    first = next(number for number, line in enumerate(lines) if record_start.match(line))
    stray = [
        line for line in lines[first:] if not (record_start.match(line) or line.startswith("    "))
    ]
    assert stray == []


def test_the_json_format_keeps_one_record_per_line(server: RunningServer, osb: object) -> None:
    with callers(server) as (osb_caller, _):
        for path in ATTACKS:
            osb_caller.get(path)
    for line in server.log().splitlines():
        if line.startswith("{"):
            json.loads(line)  # every line that starts a record is a whole record
    assert "a\\n2026-01-01" in server.log()
