"""The load generator: ``wrk`` (C, epoll) driven by the Lua scripts in ``bench/lua``.

wrk is efficient enough to leave the CPU to the servers. Both workloads run with as
many wrk threads as connections (one connection per Lua state): the lifecycle
script needs that to keep each connection's cycle in order, and the catalog uses
the same client shape so that every number comes from the same client.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.servers import BenchError

__all__ = ["LoadResult", "ensure_wrk", "run_wrk"]

LUA = Path(__file__).resolve().parent / "lua"


def ensure_wrk() -> str:
    """The path of ``wrk``; installs Debian's package when missing and allowed (root + apt)."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing wrk from Debian's packages (apt-get install wrk)", flush=True)
        environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(
            ["apt-get", "update", "-qq"], check=False, env=environment, stdout=subprocess.DEVNULL
        )
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "wrk"],
            check=False,
            env=environment,
            stdout=subprocess.DEVNULL,
        )
        found = shutil.which("wrk")
        if found:
            return found
    raise BenchError(
        "the bench needs wrk (HTTP load generator): install it, e.g. `apt-get install wrk`"
    )


@dataclass
class LoadResult:
    """One wrk run against one server."""

    seconds: float
    requests: int
    errors: int
    request_p50_ms: float
    request_p99_ms: float
    # Completed lifecycle cycles and their latencies (empty for the catalog).
    cycles: int = 0
    cycle_latencies_ms: list[float] = field(default_factory=list)
    problems: str = ""

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def cycles_per_second(self) -> float:
        return self.cycles / self.seconds


def run_wrk(
    wrk: str,
    script: str,
    url: str,
    *,
    seconds: float,
    connections: int,
    cpus: set[int] | None,
    args: Sequence[str] = (),
) -> LoadResult:
    """Run ``bench/lua/<script>.lua`` against ``url`` and read the summary it writes."""
    with tempfile.TemporaryDirectory(prefix="mockbroker-bench-") as folder:
        out = Path(folder) / "summary.json"
        command = [
            wrk,
            f"-t{connections}",
            f"-c{connections}",
            f"-d{seconds:g}s",
            "--timeout",
            "10s",
            "-s",
            str(LUA / f"{script}.lua"),
            url,
        ]
        if args:
            command += ["--", *args]

        def pin() -> None:
            if cpus:
                os.sched_setaffinity(0, cpus)

        finished = subprocess.run(
            command,
            capture_output=True,
            text=True,
            preexec_fn=pin,
            env={**os.environ, "BENCH_OUT": str(out)},
            timeout=seconds + 60,
        )
        if finished.returncode != 0 or not out.exists():
            raise BenchError(
                f"wrk failed ({finished.returncode}):\n{finished.stdout}\n{finished.stderr}"
            )
        summary: dict[str, Any] = json.loads(out.read_text())
    latencies = sorted(value / 1000 for value in summary.get("cycle_latency_us", []))
    return LoadResult(
        seconds=summary["duration_us"] / 1e6,
        requests=summary["requests"],
        errors=summary["socket_errors"] + summary["status_errors"],
        request_p50_ms=summary["request_latency_us"]["p50"] / 1000,
        request_p99_ms=summary["request_latency_us"]["p99"] / 1000,
        cycles=summary.get("cycles", 0),
        cycle_latencies_ms=latencies,
        problems=summary.get("problems", ""),
    )
