"""The journal against floods: anonymous noise, oversized entries, a growing file, big answers.

* A request refused for its credentials is counted and logged, never journaled,
  whatever it carries, so it can neither fill the disk nor evict real entries.
* One entry is bounded in bytes, with a marker where something was cut.
* The journal file keeps to its byte budget and shrinks back when cleared.
* Admin answers are pages: the journal stops at a byte budget and says where to go
  on, ``/admin/state`` and ``/admin/operations`` at ``limit`` records with a cursor.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.fill import fill_instances
from broker.journal.entries import MAX_ENTRY_BYTES
from broker.web.admin.recorded_requests import JOURNAL_PAGE_BYTES
from tests.hostile.conftest import ADMIN, callers, server_data
from tests.support.osb import OSB, basic
from tests.support.servers import ADMIN_ENV, RunningServer, serve

pytestmark = pytest.mark.server

# The server reads at most 64 KiB of request line and headers (431 beyond): 25 headers
# of 2000 bytes leave room for the rest of a large request.
LARGE_HEADERS = {f"X-Junk-{number}": "x" * 2000 for number in range(25)}
JOURNAL_BUDGET = 512 * 1024


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server with a small journal: 5 entries, 512 KiB, admin requests journaled too."""
    env = {
        **ADMIN_ENV,
        "BROKER_JOURNAL_SIZE": "5",
        "BROKER_JOURNAL_ADMIN": "true",
    }
    with serve(tmp_path_factory.mktemp("small"), env=env) as running:
        yield running


@pytest.fixture(scope="module")
def budget(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server whose journal may hold 512 KiB (and 10 000 entries)."""
    env = {**ADMIN_ENV, "BROKER_JOURNAL_MAX_BYTES": str(JOURNAL_BUDGET)}
    with serve(tmp_path_factory.mktemp("budget"), env=env) as running:
        yield running


def journal_segments(server: RunningServer) -> list[Path]:
    return sorted((server_data(server) / "broker.journal").glob("*.jsonl"))


def journal_file_bytes(server: RunningServer) -> int:
    return sum(path.stat().st_size for path in journal_segments(server))


def anonymous_variants() -> list[tuple[str, str, dict[str, str], bytes | None]]:
    """(method, path, headers, body) of requests refused for their credentials."""
    version = {"X-Broker-API-Version": "2.17"}
    wrong = {"Authorization": basic("broker", "wrong"), **version}
    return [
        ("PUT", "/v2/service_instances/a1", {**LARGE_HEADERS, **version}, b'{"x": 1}'),
        ("PUT", "/v2/service_instances/a2", wrong, b'{"p": "' + b"y" * 15_000 + b'"}'),
        ("PATCH", "/v2/service_instances/a3", {"Authorization": "Bearer nope", **version}, b"{}"),
        ("GET", "/v2/catalog", {"Authorization": "Basic !!!not-base64", **version}, None),
        ("PUT", "/v2/service_instances/a4", wrong, b"[" * 5000 + b"]" * 5000),
        ("POST", "/admin/faults", {"Authorization": basic("admin", "guess")}, b"{}"),
        ("PUT", "/admin/catalog", {**LARGE_HEADERS}, b"services: []"),
        ("GET", "/admin/requests", {"Authorization": basic("broker", "broker")}, None),
    ]


def test_requests_refused_for_their_credentials_are_counted_never_journaled(
    small: RunningServer,
) -> None:
    with callers(small) as (_, admin):
        assert admin.delete("/admin/requests").status == 200
        for method, path, headers, body in anonymous_variants():
            answer = admin.client.request(method, path, headers=headers, content=body)
            assert answer.status_code == 401, (method, path, answer.status_code)
        # The journal holds only the admin call made here (admin requests are journaled).
        entries = admin.get("/admin/requests").json["requests"]
        assert [entry["status"] for entry in entries] == [200], entries
        metrics = admin.get("/metrics").text
    refused = re.findall(r'requests_total\{operation="[a-z_]+",status="401"\} (\S+)', metrics)
    assert sum(float(count) for count in refused) >= 5


def test_anonymous_noise_neither_grows_the_journal_file_nor_evicts_real_entries(
    small: RunningServer,
) -> None:
    with callers(small) as (osb, admin):
        for name in ("kept-1", "kept-2", "kept-3"):
            assert osb.provision(name, "mock-async", "sync").status == 201
        before = journal_file_bytes(small)
        for number in range(100):
            answer = osb.client.put(
                f"/v2/service_instances/flood-{number}",
                headers={**LARGE_HEADERS, "X-Broker-API-Version": "2.17"},
                content=b'{"junk": "' + b"y" * 15_000 + b'"}',
            )
            assert answer.status_code == 401
        grown = journal_file_bytes(small) - before
        assert grown < 64 * 1024, f"the journal file grew by {grown} bytes"
        ids = [entry["instance_id"] for entry in admin.get("/admin/requests").json["requests"]]
    assert ["kept-1", "kept-2", "kept-3"] == [found for found in ids if found]


def test_one_entry_is_bounded_and_says_what_was_cut(osb: OSB, admin: OSB) -> None:
    secret_headers = {"X-Api-Key": "k-123-secret", "X-Auth-Token": "t-456-secret"}
    body = osb.provision_body("mock-async", "sync", parameters={"note": "n" * 15_000})
    answer = osb.put(
        "/v2/service_instances/big-entry",
        body,
        headers={**LARGE_HEADERS, **secret_headers},
        query={"q": "v" * 5000},
    )
    assert answer.status == 201
    too_big = osb.provision_body("mock-async", "sync", parameters={"note": "m" * 40_000})
    assert osb.put("/v2/service_instances/bigger-entry", too_big).status == 201

    auth = {"Authorization": ADMIN}
    with admin.client.stream("GET", "/admin/requests.jsonl", headers=auth) as streamed:
        assert streamed.status_code == 200
        lines = list(streamed.iter_lines())
    assert max(len(line.encode()) for line in lines) <= MAX_ENTRY_BYTES
    entries = [json.loads(line) for line in lines]
    entry = next(item for item in entries if item["instance_id"] == "big-entry")
    assert "headers" in entry["truncated"]
    cut = [value for name, value in entry["headers"].items() if name.startswith("X-Junk-")]
    assert cut and all(value.endswith("…[truncated: 2000 characters]") for value in cut)
    assert len(cut) < len(LARGE_HEADERS)  # the rest were left out
    assert entry["headers"]["X-Api-Key"] == entry["headers"]["X-Auth-Token"] == "[redacted]"
    assert entry["query"]["q"].endswith("…[truncated: 5000 characters]")
    assert entry["body"]["parameters"]["note"] == "n" * 15_000
    bigger = next(item for item in entries if item["instance_id"] == "bigger-entry")
    assert bigger["body"]["truncated"] is True and bigger["body"]["bytes"] > 40_000


def test_the_journal_files_keep_to_their_byte_budget_and_go_when_cleared(
    budget: RunningServer,
) -> None:
    headers = {f"X-Pad-{number}": "p" * 900 for number in range(8)}  # about 7 KiB an entry
    with callers(budget) as (osb, admin):
        for number in range(600):  # about 4 MiB of entries in all, 8 times the budget
            sent = {**headers, "X-Request-ID": f"r-{number}"}
            assert osb.get("/v2/catalog", headers=sent).status == 200
        size = journal_file_bytes(budget)
        lines = sum(len(path.read_bytes().splitlines()) for path in journal_segments(budget))
        newest = admin.get("/admin/requests", query={"limit": "1"}).json["requests"][0]
        kept = admin.get("/admin/requests", query={"limit": "1000"}).json["requests"]
        assert admin.delete("/admin/requests").status == 200
        assert journal_segments(budget) == []  # every worker's segments
        assert osb.get("/v2/catalog").status == 200
        assert len(admin.get("/admin/requests").json["requests"]) == 1
    # The budget, plus at most CHECK_EVERY entries between two checks, plus a segment
    # per worker that is partly over the floor.
    assert size <= JOURNAL_BUDGET * 1.5, f"the journal files hold {size} bytes"
    assert lines < 600 and len(kept) <= lines
    assert newest["request_id"] == "r-599"  # the oldest went, the newest stayed
    got = [int(entry["request_id"][2:]) for entry in kept]
    assert got == list(range(600 - len(got), 600))


def test_a_journal_page_stops_at_limit_and_says_where_to_go_on(budget: RunningServer) -> None:
    headers = {f"X-Pad-{number}": "q" * 1000 for number in range(7)}
    with callers(budget) as (osb, admin):
        assert admin.delete("/admin/requests").status == 200
        for number in range(60):
            osb.get("/v2/catalog", headers={**headers, "X-Request-ID": f"page-{number}"})
        everything = admin.get("/admin/requests", query={"limit": "100000"}).json
        ids = [entry["id"] for entry in everything["requests"]]
        assert len(ids) == 60 and "next" not in everything and "previous" not in everything

        # Pages of 25 entries from the first one on: next, next, then the end.
        seen: list[int] = []
        since = ids[0] - 1
        pages = 0
        while True:
            page = admin.get("/admin/requests", query={"since": str(since), "limit": "25"}).json
            seen += [entry["id"] for entry in page["requests"]]
            pages += 1
            if "next" not in page:
                break
            since = page["next"]
        assert seen == ids and pages == 3
        # Newest first: the newest 25, and "previous" leads to the older ones.
        newest = admin.get("/admin/requests", query={"limit": "25"}).json
        assert [entry["id"] for entry in newest["requests"]] == ids[-25:]
        older_query = {"limit": "25", "before": str(newest["requests"][0]["id"])}
        older = admin.get("/admin/requests", query=older_query).json
        assert [entry["id"] for entry in older["requests"]] == ids[-50:-25]


def test_a_journal_page_holds_at_most_its_byte_budget_whatever_the_limit(
    osb: OSB, admin: OSB
) -> None:
    assert admin.delete("/admin/requests").status == 200
    headers = {f"X-Pad-{number}": "z" * 1000 for number in range(7)}  # about 8 KiB an entry
    count = JOURNAL_PAGE_BYTES // (7 * 1024) + 100
    for number in range(count):
        assert (
            osb.get("/v2/catalog", headers={**headers, "X-Request-ID": f"big-{number}"}).status
            == 200
        )
    answer = admin.get("/admin/requests", query={"limit": "100000"})
    assert answer.status == 200
    assert len(answer.text.encode()) <= JOURNAL_PAGE_BYTES + MAX_ENTRY_BYTES
    page = answer.json
    got = [entry["request_id"] for entry in page["requests"]]
    assert got[-1] == f"big-{count - 1}" and len(got) < count and "previous" in page
    # "previous" leads to the older ones, down to the first.
    while "previous" in page:
        page = admin.get(
            "/admin/requests", query={"limit": "100000", "before": str(page["previous"])}
        ).json
        got = [entry["request_id"] for entry in page["requests"]] + got
    assert got == [f"big-{number}" for number in range(count)]
    auth = {"Authorization": ADMIN}
    query = {"limit": "100000"}
    with admin.client.stream("GET", "/admin/requests.jsonl", params=query, headers=auth) as lines:
        assert lines.headers["X-Journal-Previous"].isdigit()
        assert sum(len(line) for line in lines.iter_lines()) <= JOURNAL_PAGE_BYTES


def test_state_and_operations_come_in_pages_with_a_cursor(osb: OSB, admin: OSB) -> None:
    made = [f"paged-{number}" for number in range(7)]
    for name in made:
        assert osb.provision(name, "mock-async", "polls", accepts_incomplete=True).status == 202

    def walk(path: str, key: str) -> tuple[list[str], int]:
        found: list[str] = []
        cursor = None
        pages = 0
        while True:
            query = {"limit": "3", **({"cursor": cursor} if cursor else {})}
            page = admin.get(path, query=query)
            assert page.status == 200, page.text
            assert len(page.json[key]) <= 3
            found += [item["id"] for item in page.json[key]]
            pages += 1
            cursor = page.json.get("next")
            if cursor is None:
                return found, pages

    instances, pages = walk("/admin/state", "instances")
    assert [name for name in instances if name.startswith("paged-")] == made
    assert len(instances) == len(set(instances)) and pages >= 3
    operations, _ = walk("/admin/operations", "operations")
    assert len(operations) == len(set(operations))
    assert {f"paged-{n}" for n in range(7)} <= {
        op["instance_id"] for op in admin.get("/admin/state").json["operations"]
    }
    assert len([op for op in operations if op]) >= 7
    assert admin.get("/admin/state", query={"cursor": "bm90LWpzb24"}).status == 400
    assert admin.get("/admin/state", query={"limit": "0"}).status == 400
    assert admin.get("/admin/operations", query={"limit": "many"}).status == 400


def test_a_store_of_fifteen_thousand_instances_is_read_a_page_at_a_time(
    tmp_path: Path,
) -> None:
    with serve(tmp_path, env=dict(ADMIN_ENV)) as running, callers(running) as (osb, admin):
        service_id, plan_id = osb.ids("mock-async", "sync")
        store_url = f"sqlite:///{tmp_path / 'data' / 'broker.db'}"
        fill_instances(store_url, 15_000, service_id=service_id, plan_id=plan_id)
        state = admin.get("/admin/state")
        assert state.status == 200
        assert len(state.json["instances"]) == 1000 and "next" in state.json
        following = admin.get("/admin/state", query={"cursor": state.json["next"]}).json
        assert following["instances"][0]["id"] == "bench-fill-0001000"
        page = admin.get("/dashboard")
        assert page.status == 200
        assert page.text.count("data-instance-row=") == 200
        assert "200 of 15000 instances, newest first" in page.text
