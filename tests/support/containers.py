"""Driving a container engine and a compose tool from tests: the image and the demo stack.

The container tests are opt-in (``MOCKBROKER_CONTAINER_TESTS=1``): they build images
and start five containers, which takes minutes and needs root and a container engine.
``MOCKBROKER_CONTAINER_ENGINE`` (default ``podman``, else ``docker``) and
``MOCKBROKER_COMPOSE`` (default ``podman-compose``, else ``docker-compose``; may be a
command with arguments such as ``docker compose``) choose the tools.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
OPT_IN = "MOCKBROKER_CONTAINER_TESTS"
TOOLKIT_HINT = (
    "podman and podman-compose come from the container toolkit: run its setup.sh and "
    "build-standins.sh as root (see .ci/run), or point MOCKBROKER_CONTAINER_ENGINE / "
    "MOCKBROKER_COMPOSE at docker and 'docker compose'"
)
# Builds pip-install from the package index and compose starts five containers.
COMMAND_TIMEOUT = 900


def opted_in() -> bool:
    return os.environ.get(OPT_IN) == "1"


def skip_reason() -> str:
    return (
        f"container tests are opt-in: set {OPT_IN}=1 to build the image and run the compose "
        "stack (needs root, podman + podman-compose or docker; takes minutes)"
    )


def _tool(variable: str, *candidates: str) -> list[str]:
    configured = os.environ.get(variable)
    if configured:
        command = shlex.split(configured)
        if shutil.which(command[0]) is None:
            pytest.fail(f"{variable}={configured!r}: {command[0]} is not on PATH")
        return command
    for candidate in candidates:
        if shutil.which(candidate):
            return [candidate]
    pytest.fail(f"{OPT_IN}=1 but none of {', '.join(candidates)} is on PATH; {TOOLKIT_HINT}")


def engine_command() -> list[str]:
    return _tool("MOCKBROKER_CONTAINER_ENGINE", "podman", "docker")


def compose_command() -> list[str]:
    return _tool("MOCKBROKER_COMPOSE", "podman-compose", "docker-compose")


def run(
    command: list[str],
    *,
    check: bool = True,
    timeout: float = COMMAND_TIMEOUT,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command in the project root; on failure the message carries its output."""
    result = subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{shlex.join(command)} exited with {result.returncode}\n"
            f"--- stdout\n{result.stdout[-20000:]}\n--- stderr\n{result.stderr[-20000:]}"
        )
    return result


def unique_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def wait_until(condition: Callable[[], bool], timeout: float, describe: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"gave up after {timeout:.0f}s: {describe()}")


def answers(url: str, status: int = 200) -> bool:
    try:
        return httpx.get(url, timeout=3).status_code == status
    except httpx.TransportError:
        return False


@dataclass
class Stack:
    """One compose project of the demo stack (its own name, its own free ports)."""

    compose: list[str]
    project: str
    env: dict[str, str] = field(default_factory=dict)

    def __call__(
        self, *args: str, check: bool = True, timeout: float = COMMAND_TIMEOUT
    ) -> subprocess.CompletedProcess[str]:
        command = [*self.compose, "-p", self.project, "-f", str(ROOT / "docker-compose.yml"), *args]
        return run(command, check=check, timeout=timeout, env=self.env)

    def logs(self) -> str:
        result = self("logs", check=False, timeout=120)
        return (
            f"--- compose logs of {self.project}\n{result.stdout[-30000:]}\n{result.stderr[-5000:]}"
        )

    @contextmanager
    def explained(self) -> Iterator[None]:
        """Append every service's log to an assertion that fails inside."""
        try:
            yield
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.logs()}") from None

    def url(self, service: str, port: int) -> str:
        # podman-compose prints "18080", Docker Compose "127.0.0.1:18080".
        published = self("port", service, str(port), timeout=60).stdout.strip().rsplit(":", 1)[-1]
        return f"http://127.0.0.1:{published}"

    def up(self) -> None:
        result = self("up", "-d", "--build", "--wait", check=False)
        if result.returncode != 0:
            raise AssertionError(
                f"compose up failed ({result.returncode})\n--- stdout\n{result.stdout[-15000:]}\n"
                f"--- stderr\n{result.stderr[-15000:]}\n{self.logs()}"
            )

    def down(self) -> Any:
        return self("down", "-v", check=False, timeout=300)
