"""Starting the servers under test: ``mockbroker serve`` and the bare Flask reference.

Each server runs in its own process group, optionally pinned to a set of CPUs, and
logs to a file. :meth:`Server.cpu_seconds` adds up the CPU time of the gunicorn
master and its workers, so a round can report CPU per request next to throughput.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

__all__ = ["AUTH", "HEADERS", "BenchError", "Server", "start_bare", "start_broker"]

LISTENING = re.compile(r"listening on (http://\S+)")
AUTH = ("broker", "broker")
HEADERS = {"X-Broker-API-Version": "2.17"}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# The checkout: ``python -m bench.bare`` must import from here.
ROOT = Path(__file__).resolve().parent.parent


class BenchError(RuntimeError):
    """The bench cannot run or a run is invalid; the message says why."""


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def pids(self) -> list[int]:
        """The gunicorn master and every process it started."""
        master = self.process.pid
        found = [master]
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master:
                found.append(int(entry.name))
        return found

    def cpu_seconds(self) -> float:
        total = 0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime + stime
        return total / CLOCK_TICKS

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=20)
        except ProcessLookupError:
            pass


def _start(
    name: str, command: Sequence[str], log_path: Path, cpus: set[int] | None, env: Mapping[str, str]
) -> Server:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("BROKER_")}
    environment.update(env)

    def pin() -> None:
        if cpus:
            os.sched_setaffinity(0, cpus)

    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            list(command),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
            cwd=ROOT,
            start_new_session=True,
            preexec_fn=pin,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"{name} exited with {process.returncode}:\n{log_path.read_text()}")
        match = LISTENING.search(log_path.read_text(errors="replace"))
        if match:
            server = Server(name, match.group(1), process, log_path)
            try:
                answer = httpx.get(
                    f"{server.url}/v2/catalog", auth=AUTH, headers=HEADERS, timeout=2
                )
                if answer.status_code == 200:
                    return server
            except httpx.TransportError:
                pass
        time.sleep(0.1)
    server = Server(name, "", process, log_path)
    server.stop()
    raise BenchError(f"{name} did not answer within 60 s:\n{log_path.read_text()}")


def start_broker(
    name: str,
    data_dir: Path,
    *,
    workers: int,
    threads: int,
    cpus: set[int] | None,
    log_level: str,
    synchronous: str | None = None,
    platform_checks: bool = True,
) -> Server:
    """``mockbroker serve`` with the default SQLite store under ``data_dir``.

    ``synchronous`` sets ``BROKER_SQLITE_SYNCHRONOUS``; by default the broker's own
    default applies.
    """
    command = [
        sys.executable,
        "-m",
        "broker",
        "serve",
        "--port",
        "0",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--data-dir",
        str(data_dir),
        "--log-format",
        "json",
        "--log-level",
        log_level,
    ]
    env = {"BROKER_PLATFORM_CHECKS": "on" if platform_checks else "off"}
    if synchronous:
        env["BROKER_SQLITE_SYNCHRONOUS"] = synchronous
    return _start(name, command, data_dir.parent / f"{name}.log", cpus, env)


def start_bare(
    name: str, responses: Path, *, workers: int, threads: int, cpus: set[int] | None
) -> Server:
    """The bare Flask app (:mod:`bench.bare`) under the broker's gunicorn settings."""
    command = [
        sys.executable,
        "-m",
        "bench.bare",
        "--responses",
        str(responses),
        "--workers",
        str(workers),
        "--threads",
        str(threads),
    ]
    return _start(name, command, responses.parent / f"{name}.log", cpus, {})
