"""/metrics counts what was sent, whichever of four gunicorn workers answered."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.support.osb import OSB, basic
from tests.support.servers import serve

pytestmark = pytest.mark.server


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text output (0 if absent)."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name + "{"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line[len(name) : line.rindex("}") + 1]))
        if all(found.get(key) == value for key, value in labels.items()) and len(found) == len(
            labels
        ):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_match_what_was_sent_across_four_workers(tmp_path: Path) -> None:
    with serve(tmp_path, workers=4) as server:
        limits = httpx.Limits(max_connections=16, max_keepalive_connections=0)
        with httpx.Client(base_url=server.url, timeout=30, limits=limits) as http:
            osb = OSB(http)
            admin = OSB(http, auth=basic(), version=None)
            service_id, plan_id = osb.ids("mock-async", "sync")
            _, polls_plan = osb.ids("mock-async", "polls")  # two catalog requests so far

            def provision(n: int) -> int:
                body = {
                    "service_id": service_id,
                    "plan_id": plan_id,
                    "organization_guid": "o",
                    "space_guid": "s",
                }
                return osb.put(f"/v2/service_instances/m{n}", body).status

            with ThreadPoolExecutor(8) as pool:
                statuses = list(pool.map(provision, range(40)))
                catalogs = list(pool.map(lambda _: osb.get("/v2/catalog").status, range(29)))
            assert statuses == [201] * 40 and catalogs == [200] * 29
            ids = {"service_id": service_id, "plan_id": plan_id}

            def bind(instance: str, binding: str) -> int:
                return osb.put(
                    f"/v2/service_instances/{instance}/service_bindings/{binding}", ids
                ).status

            for n in range(5):
                assert bind(f"m{n}", f"mb{n}") == 201
            osb.put(
                "/v2/service_instances/async-1",
                {
                    "service_id": service_id,
                    "plan_id": polls_plan,
                    "organization_guid": "o",
                    "space_guid": "s",
                },
                query={"accepts_incomplete": "true"},
            )
            assert osb.delete("/v2/service_instances/nothing-here", query=ids).status == 410
            admin.post(
                "/admin/faults",
                {
                    "match": {"operation": "bind"},
                    "trigger": {"times": 2},
                    "action": {"status": 500},
                },
            )
            assert [bind("m9", f"f{n}") for n in range(3)] == [500, 500, 201]

            # Scrape several times: every worker must report the same totals.
            scrapes = [admin.get("/metrics").text for _ in range(8)]
        for text in scrapes:
            assert (
                sample(text, "mockbroker_requests_total", operation="provision", status="201") == 40
            )
            assert (
                sample(text, "mockbroker_requests_total", operation="provision", status="202") == 1
            )
            assert (
                sample(text, "mockbroker_requests_total", operation="catalog", status="200")
                == 29 + 2
            )
            assert sample(text, "mockbroker_requests_total", operation="bind", status="201") == 6
            assert sample(text, "mockbroker_requests_total", operation="bind", status="500") == 2
            assert (
                sample(text, "mockbroker_requests_total", operation="deprovision", status="410")
                == 1
            )
            assert (
                sample(text, "mockbroker_request_duration_seconds_count", operation="provision")
                == 41
            )
            assert sample(text, "mockbroker_instances", service="mock-async", plan="sync") == 40
            assert sample(text, "mockbroker_instances", service="mock-async", plan="polls") == 1
            assert sample(text, "mockbroker_bindings", service="mock-async", plan="sync") == 6
            assert sample(text, "mockbroker_async_operations_in_progress", type="provision") == 1
            assert sample(text, "mockbroker_faults_fired_total", operation="bind") == 2
