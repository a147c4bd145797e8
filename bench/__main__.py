"""``python -m bench`` (``make bench``): the broker against a bare Flask app, same gunicorn.

One run starts every server, measures them in interleaved rounds with the same wrk
client, prints a table and writes ``bench/results/<time>.json``. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.fill import BATCH, fill_instances
from bench.fsync import measure_commit_costs
from bench.load import ensure_wrk, run_wrk
from bench.report import Series, ratio, render_table, write_json
from bench.servers import AUTH, HEADERS, BenchError, Server, start_bare, start_broker
from broker.catalog.model import Catalog
from broker.config import Settings
from broker.credentials.registry import BackendRegistry
from broker.runtime import load_configured_catalog

RESULTS = Path(__file__).resolve().parent / "results"
# The lifecycle uses a plan whose every operation is synchronous.
LIFECYCLE_SERVICE, LIFECYCLE_PLAN = "mock-async", "sync"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--seconds", type=float, default=6, help="length of one measured run (6)")
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds per server (5)")
    parser.add_argument("--warmup", type=float, default=3, help="warm-up seconds per server (3)")
    parser.add_argument(
        "--workers", type=int, default=2, help="gunicorn workers of every server (2)"
    )
    parser.add_argument("--threads", type=int, default=8, help="threads per worker (8)")
    parser.add_argument(
        "--connections",
        type=int,
        default=None,
        help="concurrent connections (default workers x threads)",
    )
    parser.add_argument(
        "--instances",
        type=int,
        default=100_000,
        help="instances stored for the large-store catalog run (100000)",
    )
    parser.add_argument("--log-level", default="INFO", help="broker log level (INFO, the default)")
    parser.add_argument(
        "--no-pin", action="store_true", help="do not pin wrk and the servers to separate CPUs"
    )
    parser.add_argument(
        "--no-normal",
        action="store_true",
        help="skip the informational broker with sqlite_synchronous=NORMAL",
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="CPU per request calling the WSGI apps directly (see bench/inprocess.py)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="2 rounds of 3 s, 1 s warm-up, 20000 instances"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.rounds, args.warmup, args.instances = 3, 2, 1, 20_000
    args.connections = args.connections or args.workers * args.threads
    return args


def cpu_layout(no_pin: bool) -> tuple[set[int] | None, set[int] | None]:
    """(client CPUs, server CPUs): wrk on one CPU, the servers on the others."""
    available = sorted(os.sched_getaffinity(0))
    if no_pin or len(available) < 2:
        return None, None
    return {available[0]}, set(available[1:])


def lifecycle_ids(catalog: Catalog | None = None) -> tuple[str, str]:
    """The service and plan ids of the lifecycle plan (in the bundled catalogs by default)."""
    if catalog is None:
        catalog = load_configured_catalog(Settings(), BackendRegistry(Settings()))
    service = catalog.service_named(LIFECYCLE_SERVICE)
    plan = catalog.find_plan(service, LIFECYCLE_PLAN) if service is not None else None
    if plan is None:
        raise BenchError(f"the catalog lacks {LIFECYCLE_SERVICE}/{LIFECYCLE_PLAN}")
    return plan.service_id, plan.id


def sample_responses(server: Server, service_id: str, plan_id: str) -> dict[str, dict[str, Any]]:
    """One cycle against the broker: the bare app will answer with these exact bytes."""
    instance = "/v2/service_instances/bench-sample"
    binding = f"{instance}/service_bindings/bench-sample"
    query = {"service_id": service_id, "plan_id": plan_id}
    steps = {
        "catalog": ("GET", "/v2/catalog", None, None),
        "provision": (
            "PUT",
            instance,
            {**query, "organization_guid": "bench-org", "space_guid": "bench-space"},
            None,
        ),
        "bind": ("PUT", binding, query, None),
        "unbind": ("DELETE", binding, None, query),
        "deprovision": ("DELETE", instance, None, query),
    }
    answers = {}
    with httpx.Client(base_url=server.url, auth=AUTH, headers=HEADERS, timeout=10) as client:
        for name, (method, path, body, params) in steps.items():
            answer = client.request(method, path, json=body, params=params)
            if answer.status_code >= 300:
                raise BenchError(f"sample {name} answered {answer.status_code}: {answer.text}")
            answers[name] = {"status": answer.status_code, "body": answer.text}
    return answers


def main(argv: list[str] | None = None) -> int:
    if "--in-process" in (sys.argv[1:] if argv is None else argv):
        from bench.inprocess import main as in_process

        return in_process(argv)
    args = parse_args(argv)
    wrk = ensure_wrk()
    client_cpus, server_cpus = cpu_layout(args.no_pin)
    service_id, plan_id = lifecycle_ids()
    work = Path(tempfile.mkdtemp(prefix="mockbroker-bench-"))
    servers: dict[str, Server] = {}
    started = datetime.now(UTC)
    load_before = os.getloadavg()[0]
    try:
        print(
            f"bench folder {work}; wrk on CPUs {client_cpus or 'any'}, servers on CPUs "
            f"{server_cpus or 'any'}; {args.workers} workers x {args.threads} threads, "
            f"{args.connections} connections",
            flush=True,
        )
        fills = {}
        for name, count in (("broker", 100), ("broker-large", args.instances)):
            seconds = fill_instances(
                f"sqlite:///{work / name / 'broker.db'}",
                count,
                service_id=service_id,
                plan_id=plan_id,
            )
            fills[name] = {"instances": count, "seconds": round(seconds, 2)}
            print(
                f"filled {name} with {count} instances in {seconds:.1f} s (store API, "
                f"{BATCH} per transaction)",
                flush=True,
            )
        print("measuring commit costs on this disk ...", flush=True)
        commit_costs = measure_commit_costs(work / "probe")
        common = {"workers": args.workers, "threads": args.threads, "cpus": server_cpus}
        servers["broker"] = start_broker(
            "broker", work / "broker", log_level=args.log_level, **common
        )
        servers["broker-large"] = start_broker(
            "broker-large", work / "broker-large", log_level=args.log_level, **common
        )
        # The same broker with its platform checks off: what the checks cost.
        (work / "broker-unchecked").mkdir()
        servers["broker-unchecked"] = start_broker(
            "broker-unchecked",
            work / "broker-unchecked",
            log_level=args.log_level,
            platform_checks=False,
            **common,
        )
        if not args.no_normal:
            (work / "broker-normal").mkdir()
            servers["broker-normal"] = start_broker(
                "broker-normal",
                work / "broker-normal",
                log_level=args.log_level,
                synchronous="NORMAL",
                **common,
            )
        responses = work / "responses.json"
        responses.write_text(json.dumps(sample_responses(servers["broker"], service_id, plan_id)))
        servers["bare"] = start_bare("bare", responses, **common)

        plan = [
            ("catalog", "bare"),
            ("catalog", "broker"),
            ("catalog", "broker-large"),
            ("lifecycle", "bare"),
            ("lifecycle", "broker"),
            ("lifecycle", "broker-unchecked"),
        ]
        if not args.no_normal:
            plan.append(("lifecycle", "broker-normal"))
        series = {key: Series(*key) for key in plan}
        tag = f"r{random.randrange(16**6):06x}"

        def measure(workload: str, server: Server, seconds: float, label: str) -> Any:
            script_args = [label, service_id, plan_id] if workload == "lifecycle" else []
            cpu_before = server.cpu_seconds()
            load = run_wrk(
                wrk,
                workload,
                server.url,
                seconds=seconds,
                connections=args.connections,
                cpus=client_cpus,
                args=script_args,
            )
            return load, server.cpu_seconds() - cpu_before

        print("warming up ...", flush=True)
        for workload, name in plan:
            measure(workload, servers[name], args.warmup, f"{tag}-warm")
        for number in range(1, args.rounds + 1):
            for workload, name in plan:
                load, cpu = measure(workload, servers[name], args.seconds, f"{tag}-{number}")
                series[(workload, name)].add(load, cpu)
                unit = (
                    f"{load.cycles_per_second:8.1f} cycles/s"
                    if workload == "lifecycle"
                    else f"{load.requests_per_second:8.1f} req/s"
                )
                print(
                    f"round {number}/{args.rounds}  {workload:<9} {name:<14} {unit}"
                    f"  errors {load.errors}",
                    flush=True,
                )
    finally:
        for server in servers.values():
            server.stop()

    catalog_p99 = {
        name: statistics.median(series[("catalog", name)].p99s())
        for name in ("broker", "broker-large")
    }
    paired_p99 = [
        large / small
        for large, small in zip(
            series[("catalog", "broker-large")].p99s(),
            series[("catalog", "broker")].p99s(),
            strict=True,
        )
    ]
    catalog_ratio = ratio(series[("catalog", "broker")], series[("catalog", "bare")])
    lifecycle_ratio = ratio(series[("lifecycle", "broker")], series[("lifecycle", "bare")])
    checks = [
        {
            "name": "catalog throughput broker/bare",
            "value": catalog_ratio["median"],
            "min": catalog_ratio["min"],
            "max": catalog_ratio["max"],
            "target": ">= 0.85",
            "met": catalog_ratio["median"] >= 0.85,
        },
        {
            "name": "lifecycle throughput broker/bare (SQLite FULL)",
            "value": lifecycle_ratio["median"],
            "min": lifecycle_ratio["min"],
            "max": lifecycle_ratio["max"],
            "target": ">= 0.5",
            "met": lifecycle_ratio["median"] >= 0.5,
        },
        {
            "name": f"catalog p99 with {args.instances} instances / with 100",
            "value": catalog_p99["broker-large"] / catalog_p99["broker"],
            "min": min(paired_p99),
            "max": max(paired_p99),
            "target": "<= 1.2",
            "met": catalog_p99["broker-large"] / catalog_p99["broker"] <= 1.2,
        },
    ]
    checked = ratio(series[("lifecycle", "broker")], series[("lifecycle", "broker-unchecked")])
    checks.append(
        {
            "name": "lifecycle throughput platform checks on/off",
            "value": checked["median"],
            "min": checked["min"],
            "max": checked["max"],
            "target": ">= 0.9",
            "met": checked["median"] >= 0.9,
        }
    )
    if not args.no_normal:
        normal = ratio(series[("lifecycle", "broker-normal")], series[("lifecycle", "broker")])
        checks.append(
            {
                "name": "(info) lifecycle NORMAL/FULL",
                "value": normal["median"],
                "min": normal["min"],
                "max": normal["max"],
                "target": "none",
                "met": True,
            }
        )
    # Server CPU per operation, bare over broker: what the throughput ratio would be if
    # both were limited by their own CPU alone (less sensitive to other load on the host).
    for workload in ("catalog", "lifecycle"):
        bare_cpu = statistics.median(series[(workload, "bare")].cpu_ms_per_unit())
        broker_cpu = series[(workload, "broker")].cpu_ms_per_unit()
        value = bare_cpu / statistics.median(broker_cpu)
        checks.append(
            {
                "name": f"(info) {workload} server CPU per op, bare/broker",
                "value": value,
                "min": bare_cpu / max(broker_cpu),
                "max": bare_cpu / min(broker_cpu),
                "target": "none",
                "met": True,
            }
        )
    errors = sum(item.errors for item in series.values())
    load_after = os.getloadavg()[0]
    print()
    if max(load_before, load_after) > (os.cpu_count() or 1):
        print(
            f"  note: the host was busy with other work (load average {load_before:.1f} before, "
            f"{load_after:.1f} after, {os.cpu_count()} CPUs): absolute numbers are low and "
            "noisy; the CPU-per-op ratios hold better"
        )
    print(render_table(list(series.values()), checks))
    print()
    print(
        "  commit cost on this disk (ms): "
        + "; ".join(
            f"{name} p50 {cost['p50_ms']:.2f} p99 {cost['p99_ms']:.2f}"
            for name, cost in commit_costs.items()
        )
    )
    document = {
        "started": started.isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_before": round(load_before, 2),
            "load_average_after": round(load_after, 2),
        },
        "settings": {
            "seconds": args.seconds,
            "rounds": args.rounds,
            "warmup": args.warmup,
            "workers": args.workers,
            "threads": args.threads,
            "connections": args.connections,
            "log_level": args.log_level,
            "client_cpus": sorted(client_cpus or []),
            "server_cpus": sorted(server_cpus or []),
            "lifecycle_plan": f"{LIFECYCLE_SERVICE}/{LIFECYCLE_PLAN}",
        },
        "fill": fills,
        "commit_costs": commit_costs,
        "series": [item.summary() for item in series.values()],
        "checks": checks,
        "errors": errors,
    }
    out = RESULTS / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    write_json(out, document)
    print(f"\n  results: {out}")
    if errors:
        print(
            "  INVALID RUN: some requests failed:\n"
            + "".join(item.problems for item in series.values())[:2000],
            file=sys.stderr,
        )
        return 1
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        sys.exit(2)
