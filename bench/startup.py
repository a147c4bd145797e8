"""``mockbroker serve`` to its first ``200``: how long a user waits for a fresh broker.

Each start is ``mockbroker serve --port 0`` with the default settings on a new data
dir, timed from the command's start to the first ``GET /v2/catalog`` answered 200
(polled every 5 ms once the listening address is logged).

The package's bytecode is compiled first, as an installed package has it: a checkout
run with ``PYTHONDONTWRITEBYTECODE`` would otherwise compile every module of the
broker in every start (about 0.3 s), which no installed broker does.
"""

from __future__ import annotations

import compileall
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

__all__ = ["measure_startup"]

LISTENING = re.compile(r"listening on (http://\S+)")
AUTH = ("broker", "broker")
HEADERS = {"X-Broker-API-Version": "2.17"}
ROOT = Path(__file__).resolve().parent.parent


def _one_start(folder: Path) -> float:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("BROKER_")}
    environment.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log_path = folder / "serve.log"
    command = [sys.executable, "-m", "broker", "serve", "--port", "0"]
    command += ["--data-dir", str(folder / "data"), "--log-format", "json"]
    with open(log_path, "wb") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
            cwd=ROOT,
            start_new_session=True,
        )
    try:
        url = None
        with httpx.Client(auth=AUTH, headers=HEADERS, timeout=2) as client:
            while time.perf_counter() - started < 60:
                if process.poll() is not None:
                    raise RuntimeError(f"mockbroker serve exited: {log_path.read_text()[-2000:]}")
                if url is None:
                    found = LISTENING.search(log_path.read_text(errors="replace"))
                    url = found.group(1) if found else None
                if url is not None:
                    try:
                        if client.get(f"{url}/v2/catalog").status_code == 200:
                            return time.perf_counter() - started
                    except httpx.TransportError:
                        pass
                time.sleep(0.005)
        raise RuntimeError("mockbroker serve did not answer within 60 s")
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)


def measure_startup(starts: int = 3) -> list[float]:
    """Seconds from ``mockbroker serve`` to its first 200, for each of ``starts`` starts."""
    import broker

    compileall.compile_dir(Path(broker.__file__).parent, quiet=1)
    seconds = []
    for _ in range(starts):
        with tempfile.TemporaryDirectory(prefix="mockbroker-startup-") as folder:
            seconds.append(_one_start(Path(folder)))
    return seconds
