"""``python -m bench --in-process``: CPU per request, calling the WSGI apps directly.

No gunicorn, no sockets, no load generator: each request is one call of the
application with a prepared WSGI environ, and the cost is the process CPU time
(``time.process_time``) it took. That isolates what the broker itself spends per
request, which is what decides its throughput once a server's core is busy. The
broker runs as ``mockbroker serve`` runs it: the SQLite store with its default
``synchronous=NORMAL``, JSON log lines at INFO (written to /dev/null), Prometheus
metrics in multiprocess mode. The bare Flask app (:mod:`bench.bare`) answers the
same requests with the broker's own bytes, as the bench's reference.

``--breakdown`` adds the broker without its journal, without its log line and
without both. ``--profile catalog`` (or ``provision``, ``bind``, ``unbind``, ``deprovision``)
prints where a step's time goes (cProfile, by own time).
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

__all__ = ["main"]

AUTHORIZATION = "Basic " + base64.b64encode(b"broker:broker").decode()
STEPS = ("provision", "bind", "unbind", "deprovision")
WORKLOADS = ("catalog", *STEPS)
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench --in-process", description=__doc__)
    parser.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--requests", type=int, default=3000, help="catalog requests per round (3000)"
    )
    parser.add_argument("--cycles", type=int, default=500, help="lifecycles per round (500)")
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds (5)")
    parser.add_argument(
        "--profile", choices=WORKLOADS, help="print a cProfile of one round of this request"
    )
    parser.add_argument("--log-level", default="INFO", help="broker log level (INFO)")
    parser.add_argument(
        "--no-startup",
        action="store_true",
        help="skip timing `mockbroker serve` to its first 200 (3 starts)",
    )
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="also measure the broker without its journal, without its request log line, "
        "and without both (what each costs per request)",
    )
    parser.add_argument(
        "--checks-off",
        action="store_true",
        help="also measure the broker with BROKER_PLATFORM_CHECKS=off (what the checks cost)",
    )
    return parser.parse_args(argv)


def environ(method: str, path: str, body: bytes = b"", query: str = "") -> dict[str, Any]:
    """What gunicorn hands the application for one of the bench's requests."""
    env: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "RAW_URI": path + (f"?{query}" if query else ""),
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8080",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "50000",
        "HTTP_HOST": "127.0.0.1:8080",
        "HTTP_AUTHORIZATION": AUTHORIZATION,
        "HTTP_X_BROKER_API_VERSION": "2.17",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if body:
        env["CONTENT_TYPE"] = "application/json"
        env["CONTENT_LENGTH"] = str(len(body))
    return env


def call(app: WsgiApp, env: dict[str, Any]) -> tuple[int, bytes]:
    statuses: list[str] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> None:
        statuses.append(status)

    result = app(env, start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return int(statuses[0].split()[0]), body


class Requests:
    """Prepared environs: building them is not part of what is measured."""

    def __init__(self, service_id: str, plan_id: str, tag: str) -> None:
        self.service_id, self.plan_id, self.tag = service_id, plan_id, tag
        self.query = f"service_id={service_id}&plan_id={plan_id}"

    def catalog(self, count: int) -> list[dict[str, Any]]:
        return [environ("GET", "/v2/catalog") for _ in range(count)]

    def cycle(self, number: int) -> dict[str, dict[str, Any]]:
        instance = f"/v2/service_instances/bench-i-{self.tag}-{number}"
        binding = f"{instance}/service_bindings/bench-b-{self.tag}-{number}"
        ids = {"service_id": self.service_id, "plan_id": self.plan_id}
        provision = {**ids, "organization_guid": "bench-org", "space_guid": "bench-space"}
        return {
            "provision": environ("PUT", instance, json.dumps(provision).encode()),
            "bind": environ("PUT", binding, json.dumps(ids).encode()),
            "unbind": environ("DELETE", binding, query=self.query),
            "deprovision": environ("DELETE", instance, query=self.query),
        }


EXPECTED = {"catalog": 200, "provision": 201, "bind": 201, "unbind": 200, "deprovision": 200}


def run_catalog(app: WsgiApp, envs: list[dict[str, Any]]) -> float:
    """CPU seconds per request."""
    started = time.process_time()
    for env in envs:
        call(app, env)
    return (time.process_time() - started) / len(envs)


def run_cycles(app: WsgiApp, cycles: list[dict[str, dict[str, Any]]]) -> dict[str, float]:
    """CPU seconds per request of each step."""
    spent = dict.fromkeys(STEPS, 0.0)
    clock = time.process_time
    for cycle in cycles:
        for step in STEPS:
            started = clock()
            status, body = call(app, cycle[step])
            spent[step] += clock() - started
            if status != EXPECTED[step]:
                raise SystemExit(f"{step} answered {status}: {body[:300]!r}")
    return {step: total / len(cycles) for step, total in spent.items()}


def build_broker(folder: Path, log_level: str, **overrides: Any) -> Any:
    # As `mockbroker serve` does: multiprocess metrics (set before prometheus_client
    # is imported), JSON logs at the chosen level.
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder / "metrics")
        (folder / "metrics").mkdir()
        if "prometheus_client" in sys.modules:
            raise SystemExit("prometheus_client was imported before its metrics folder was set")
    from broker.app import create_app
    from broker.config import Settings
    from broker.logs import configure_logging

    settings = Settings(data_dir=folder / "data", log_format="json", log_level=log_level)
    app = create_app(settings, **overrides)
    configure_logging(settings.log_format, settings.log_level)
    devnull = open(os.devnull, "w")  # noqa: SIM115 (open for the life of the run)
    import logging

    for name in ("broker", "broker.server", "gunicorn.error"):
        for handler in logging.getLogger(name).handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(devnull)
    return app


def sample_answers(app: WsgiApp, requests: Requests) -> dict[str, dict[str, Any]]:
    answers = {}
    cycle = requests.cycle(-1)
    status, body = call(app, environ("GET", "/v2/catalog"))
    answers["catalog"] = {"status": status, "body": body.decode()}
    for step in STEPS:
        status, body = call(app, cycle[step])
        answers[step] = {"status": status, "body": body.decode()}
    return answers


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="mockbroker-inprocess-"))
    broker = build_broker(folder, args.log_level)
    from bench.lifecycle import lifecycle_ids
    from broker.web.runtime import runtime_of

    service_id, plan_id = lifecycle_ids(runtime_of(broker).catalogs.catalog)
    requests = Requests(service_id, plan_id, "s")
    from bench.bare import create_bare_app

    bare = create_bare_app(sample_answers(broker, requests))
    # name -> (app, whether it logs each request)
    variants: dict[str, tuple[WsgiApp, bool]] = {"bare": (bare, False), "broker": (broker, True)}
    if args.checks_off:
        unchecked = build_broker(folder / "no-checks", args.log_level, platform_checks=False)
        variants["broker, checks off"] = (unchecked, True)
    if args.breakdown:
        quiet = build_broker(folder / "no-journal", args.log_level, journal_size=0)
        variants["broker, no journal"] = (quiet, True)
        variants["broker, no log line"] = (broker, False)
        variants["broker, neither"] = (quiet, False)
    numbers: dict[str, dict[str, list[float]]] = {
        name: {workload: [] for workload in WORKLOADS} for name in variants
    }
    counter = 0
    import logging

    broker_logger = logging.getLogger("broker")
    level = broker_logger.level

    def one_round(name: str, app: WsgiApp, logs: bool) -> None:
        nonlocal counter
        catalog = requests.catalog(args.requests)
        cycles = [requests.cycle(counter + number) for number in range(args.cycles)]
        counter += args.cycles
        broker_logger.setLevel(level if logs else logging.WARNING)
        numbers[name]["catalog"].append(run_catalog(app, catalog))
        for step, seconds in run_cycles(app, cycles).items():
            numbers[name][step].append(seconds)
        broker_logger.setLevel(level)

    print(
        f"in-process CPU per request; {args.rounds} rounds of {args.requests} catalog "
        f"requests and {args.cycles} lifecycles; load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    # Warm-up: caches, connections, code paths.
    for number, (app, _) in enumerate(variants.values()):
        call(app, environ("GET", "/v2/catalog"))
        run_cycles(app, [requests.cycle(-100 * number - 2 - n) for n in range(50)])
    for _ in range(args.rounds):
        for name, (app, logs) in variants.items():  # interleaved: drifts hit all alike
            one_round(name, app, logs)
    print(render(numbers))
    print(budget(numbers, broker, requests, counter + args.cycles, not args.no_startup))
    if args.profile:
        profile = cProfile.Profile()
        if args.profile == "catalog":
            envs = requests.catalog(args.requests)
            profile.enable()
            run_catalog(broker, envs)
        else:
            cycles = [requests.cycle(counter + number) for number in range(args.cycles)]
            # Only the chosen step is profiled; the others still run, in order.
            for cycle in cycles:
                for step in STEPS:
                    if step == args.profile:
                        profile.enable()
                    call(broker, cycle[step])
                    if step == args.profile:
                        profile.disable()
        profile.disable()
        stats = pstats.Stats(profile, stream=sys.stdout)
        stats.sort_stats("tottime").print_stats(40)
        stats.sort_stats("cumulative").print_stats(40)
    return 0


def _profiled(work: Callable[[], Any]) -> pstats.Stats:
    profile = cProfile.Profile()
    profile.enable()
    work()
    profile.disable()
    return pstats.Stats(profile)


def budget(
    numbers: dict[str, dict[str, list[float]]],
    broker: WsgiApp,
    requests: Requests,
    first_cycle: int,
    startup: bool,
) -> str:
    """The budget's in-process rows, judged; a missed one says where its time went."""
    from bench.targets import FIXTURE_ROWS, Target, describe_split, profile_split, render_targets

    def median_us(name: str, workload: str) -> float:
        return statistics.median(numbers[name][workload]) * 1e6

    catalog, bare_catalog = median_us("broker", "catalog"), median_us("bare", "catalog")
    steps = {step: median_us("broker", step) for step in STEPS}
    cycle = sum(steps.values())
    slowest = max(steps, key=steps.__getitem__)
    targets = [
        Target(
            "CPU per catalog request, in-process",
            "<= 1.3x bare",
            f"{catalog / bare_catalog:.2f}x ({catalog:.0f} vs {bare_catalog:.0f} µs)",
            catalog <= 1.3 * bare_catalog,
        ),
        Target(
            "CPU per lifecycle request, in-process",
            "<= 200 µs",
            f"{steps[slowest]:.0f} µs ({slowest}, the slowest)",
            steps[slowest] <= 200,
        ),
        Target(
            "CPU per lifecycle cycle, in-process",
            "<= 800 µs",
            f"{cycle:.0f} µs (bare {sum(median_us('bare', s) for s in STEPS):.0f} µs)",
            cycle <= 800,
        ),
    ]
    if not targets[0].met:
        envs = requests.catalog(500)
        split = profile_split(_profiled(lambda: run_catalog(broker, envs)))
        targets[0].note = describe_split(split, catalog)
    if not (targets[1].met and targets[2].met):
        cycles = [requests.cycle(first_cycle + number) for number in range(100)]
        split = profile_split(_profiled(lambda: run_cycles(broker, cycles)))
        targets[2].note = describe_split(split, cycle)
    if startup:
        from bench.startup import measure_startup

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
    return "\n".join(lines)


def render(numbers: dict[str, dict[str, list[float]]]) -> str:
    """Per request: median over the rounds and the lowest round (the least disturbed)."""
    names = list(numbers)
    lines = ["  µs of CPU per request: median (lowest round)"]
    lines.append(f"  {'request':<12}" + "".join(f"{name:>22}" for name in names))
    totals = {name: [0.0, 0.0] for name in names}
    for workload in (*WORKLOADS, "cycle"):
        cells = []
        for name in names:
            if workload == "cycle":
                median, low = totals[name]
            else:
                values = [seconds * 1e6 for seconds in numbers[name][workload]]
                median, low = statistics.median(values), min(values)
                if workload in STEPS:
                    totals[name][0] += median
                    totals[name][1] += low
            cells.append(f"{median:9.1f} ({low:7.1f})")
        lines.append(f"  {workload:<12}" + "".join(f"{cell:>22}" for cell in cells))
    for workload in ("catalog", "cycle"):
        bare, broker = (
            totals[name][0] if workload == "cycle" else statistics.median(numbers[name][workload])
            for name in ("bare", "broker")
        )
        lines.append(f"  {workload} bare/broker: {bare / broker:.2f}")
    if "broker, checks off" in numbers:
        on, off = (
            sum(statistics.median(numbers[name][step]) for step in STEPS)
            for name in ("broker", "broker, checks off")
        )
        lines.append(f"  lifecycle throughput, checks on/off: {off / on:.3f}")
    return "\n".join(lines)
