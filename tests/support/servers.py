"""Real ``mockbroker serve`` processes (gunicorn) on free ports."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

LISTENING = re.compile(r"listening on (http://\S+)")
# The admin credentials the tests use (as the ``settings`` fixture does in-process).
ADMIN_ENV = {"BROKER_ADMIN_USERNAME": "admin", "BROKER_ADMIN_PASSWORD": "admin-secret"}


@dataclass
class RunningServer:
    url: str
    process: subprocess.Popen[str]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group (gunicorn master and workers)."""
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=30)


@contextmanager
def serve(
    tmp_path: Path,
    *args: str,
    env: dict[str, str] | None = None,
    workers: int = 2,
    timeout: float = 20.0,
) -> Iterator[RunningServer]:
    """Run ``mockbroker serve --port 0`` and yield its URL once /livez answers."""
    log_path = tmp_path / f"server-{time.monotonic_ns()}.log"
    environment = {key: value for key, value in os.environ.items() if not key.startswith("BROKER_")}
    environment.update({"BROKER_DATA_DIR": str(tmp_path / "data"), "BROKER_LOG_FORMAT": "json"})
    environment.update(env or {})
    command = [
        sys.executable,
        "-m",
        "broker",
        "serve",
        "--port",
        "0",
        "--workers",
        str(workers),
        *args,
    ]
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
            text=True,
            start_new_session=True,
        )
    server = None
    try:
        deadline = time.monotonic() + timeout
        url = None
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(
                    f"mockbroker serve exited with {process.returncode}:\n{log_path.read_text()}"
                )
            match = LISTENING.search(log_path.read_text(errors="replace"))
            if match:
                url = match.group(1)
                try:
                    if httpx.get(f"{url}/livez", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
            time.sleep(0.05)
        else:
            raise RuntimeError(
                f"mockbroker serve did not answer within {timeout}s:\n{log_path.read_text()}"
            )
        assert url is not None
        server = RunningServer(url, process, log_path)
        yield server
    finally:
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=15)
