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
import signal
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.fill import BATCH, fill_instances
from bench.fsync import measure_commit_costs
from bench.lifecycle import LIFECYCLE_PLAN, LIFECYCLE_SERVICE, lifecycle_ids
from bench.load import ensure_wrk, run_wrk
from bench.report import Series, ratio, render_table, write_json
from bench.servers import AUTH, HEADERS, BenchError, Server, start_bare, start_broker

RESULTS = Path(__file__).resolve().parent / "results"


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
        "--no-full",
        action="store_true",
        help="skip the informational broker with sqlite_synchronous=FULL",
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


def budget(args: argparse.Namespace, series: dict[Any, Series], checks: list[Any]) -> str:
    """The budget's rows this run measures, judged; for a missed one, where the time goes."""
    from bench.startup import measure_startup
    from bench.targets import FIXTURE_ROWS, Target, render_targets

    by_name = {check["name"]: check for check in checks}

    def cpu(workload: str, server: str) -> float:
        return statistics.median(series[(workload, server)].cpu_ms_per_unit())

    targets = []
    for workload, target in (("catalog", 0.9), ("lifecycle", 0.6)):
        check = by_name[next(name for name in by_name if name.startswith(f"{workload} throughput"))]
        broker_cpu, bare_cpu = cpu(workload, "broker"), cpu(workload, "bare")
        note = ""
        if not check["met"]:
            # The bare app is gunicorn, werkzeug and Flask alone: what remains is ours.
            note = (
                f"server CPU per {'request' if workload == 'catalog' else 'cycle'}: "
                f"{broker_cpu:.2f} ms, of which {bare_cpu:.2f} ms is what gunicorn, werkzeug "
                f"and Flask spend for the bare app and {broker_cpu - bare_cpu:.2f} ms the "
                "broker's (split below)"
            )
        targets.append(
            Target(
                f"make bench {workload} throughput",
                f">= {target}x bare",
                f"{check['value']:.2f}x [{check['min']:.2f}-{check['max']:.2f}]",
                bool(check["met"]),
                note,
            )
        )
    errors = series[("lifecycle", "broker")].errors + series[("lifecycle", "broker-large")].errors
    targets.append(Target("lifecycle errors", "0", str(errors), errors == 0))
    for workload in ("catalog", "lifecycle"):
        check = by_name[f"{workload} p99 with {args.instances} instances / with 100"]
        targets.append(
            Target(
                f"{workload} p99, {args.instances} instances vs 100",
                "<= 1.2x",
                f"{check['value']:.2f}x [{check['min']:.2f}-{check['max']:.2f}]",
                bool(check["met"]),
            )
        )
    seconds = sorted(measure_startup(3))
    targets.append(
        Target(
            "`mockbroker serve` to first 200",
            "<= 0.4 s",
            f"{seconds[1]:.2f} s (of 3 starts; fastest {seconds[0]:.2f} s)",
            seconds[1] <= 0.4,
            f"load average {os.getloadavg()[0]:.1f}",
        )
    )
    lines = [render_targets(targets)]
    lines += [f"  (not measured here: {row}; see python -m bench fixture)" for row in FIXTURE_ROWS]
    if not all(item.met for item in targets[:2]):
        lines.append("  where the broker's time goes, in-process (python -m bench --in-process):")
        found = subprocess.run(
            [sys.executable, "-m", "bench", "--in-process", "--rounds", "1", "--requests"]
            + ["1000", "--cycles", "200", "--no-startup"],
            capture_output=True,
            text=True,
            check=False,
        )
        lines.append(found.stdout.rstrip() or found.stderr[-2000:])
    return "\n".join(lines)


def stop_on_terminate() -> None:
    """Let SIGTERM unwind like Ctrl-C, so the servers the bench started are stopped.

    They run in sessions of their own (a Ctrl-C in the terminal does not reach them),
    so only the bench's ``finally`` stops them; Python's default SIGTERM action ends
    the process without running it and leaves every server behind.
    """

    def terminate(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)


def main(argv: list[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else argv
    if given[:1] == ["fixture"]:
        from bench.fixture import main as fixture

        return fixture(given[1:])
    if "--in-process" in given:
        from bench.inprocess import main as in_process

        return in_process(argv)
    args = parse_args(argv)
    stop_on_terminate()
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
        if not args.no_full:
            (work / "broker-full").mkdir()
            servers["broker-full"] = start_broker(
                "broker-full",
                work / "broker-full",
                log_level=args.log_level,
                synchronous="FULL",
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
            ("lifecycle", "broker-large"),
            ("lifecycle", "broker-unchecked"),
        ]
        if not args.no_full:
            plan.append(("lifecycle", "broker-full"))
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

    def p99_ratio(workload: str) -> tuple[float, list[float]]:
        """p99 with the large store over p99 with 100 instances: of the medians, per round."""
        large, small = series[(workload, "broker-large")], series[(workload, "broker")]
        paired = [a / b for a, b in zip(large.p99s(), small.p99s(), strict=True)]
        return statistics.median(large.p99s()) / statistics.median(small.p99s()), paired

    catalog_p99, paired_p99 = p99_ratio("catalog")
    lifecycle_p99, paired_lifecycle_p99 = p99_ratio("lifecycle")
    catalog_ratio = ratio(series[("catalog", "broker")], series[("catalog", "bare")])
    lifecycle_ratio = ratio(series[("lifecycle", "broker")], series[("lifecycle", "bare")])
    checks = [
        {
            "name": "catalog throughput broker/bare",
            "value": catalog_ratio["median"],
            "min": catalog_ratio["min"],
            "max": catalog_ratio["max"],
            "target": ">= 0.9",
            "met": catalog_ratio["median"] >= 0.9,
        },
        {
            "name": "lifecycle throughput broker/bare",
            "value": lifecycle_ratio["median"],
            "min": lifecycle_ratio["min"],
            "max": lifecycle_ratio["max"],
            "target": ">= 0.6",
            "met": lifecycle_ratio["median"] >= 0.6,
        },
        {
            "name": f"catalog p99 with {args.instances} instances / with 100",
            "value": catalog_p99,
            "min": min(paired_p99),
            "max": max(paired_p99),
            "target": "<= 1.2",
            "met": catalog_p99 <= 1.2,
        },
        {
            "name": f"lifecycle p99 with {args.instances} instances / with 100",
            "value": lifecycle_p99,
            "min": min(paired_lifecycle_p99),
            "max": max(paired_lifecycle_p99),
            "target": "<= 1.2",
            "met": lifecycle_p99 <= 1.2,
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
    if not args.no_full:
        full = ratio(series[("lifecycle", "broker-full")], series[("lifecycle", "broker")])
        checks.append(
            {
                "name": "(info) lifecycle FULL/NORMAL",
                "value": full["median"],
                "min": full["min"],
                "max": full["max"],
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
    print(budget(args, series, checks), flush=True)
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
