"""``.ci/run`` finds the container toolkit next to the repository, wherever that is.

The script runs for real on a copy of the repository's layout: ``make`` is a stand-in
that records what it was asked to do, the toolkit's two scripts record their calls.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RECORDER = """#!/bin/sh
echo "$(basename "$0") $* MOCKBROKER_CONTAINER_TESTS=${MOCKBROKER_CONTAINER_TESTS:-} CI=${CI:-}" \\
  >> "$CALLS"
"""


def layout(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(repository, toolkit, folder of the stand-in make) under ``tmp_path``."""
    repository = tmp_path / "checkouts" / "mockbroker"
    (repository / ".ci").mkdir(parents=True)
    shutil.copy2(ROOT / ".ci" / "run", repository / ".ci" / "run")
    toolkit = tmp_path / "checkouts" / "shared" / "containers"
    tools = tmp_path / "bin"
    for script in (toolkit / "setup.sh", toolkit / "build-standins.sh", tools / "make"):
        script.parent.mkdir(parents=True, exist_ok=True)
        script.write_text(RECORDER)
        script.chmod(0o755)
    return repository, toolkit, tools


def run_ci(repository: Path, tools: Path, tmp_path: Path, **env: str) -> tuple[str, list[str]]:
    calls = tmp_path / "calls"
    environment = {
        "PATH": f"{tools}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "CALLS": str(calls),
        "HOME": str(tmp_path),
        **env,
    }
    result = subprocess.run(
        ["bash", str(repository / ".ci" / "run")],
        cwd=tmp_path,  # not the repository: the script finds its own way
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout + result.stderr, calls.read_text().splitlines()


def test_the_toolkit_next_to_the_repository_is_used_by_default(tmp_path: Path) -> None:
    repository, toolkit, tools = layout(tmp_path)
    output, calls = run_ci(repository, tools, tmp_path)
    if os.geteuid() == 0:
        assert f"container tests: preparing podman and the base images with {toolkit}" in output
        assert calls == [
            "setup.sh  MOCKBROKER_CONTAINER_TESTS= CI=true",
            "build-standins.sh  MOCKBROKER_CONTAINER_TESTS= CI=true",
            "make test MOCKBROKER_CONTAINER_TESTS=1 CI=true",
            "make lint MOCKBROKER_CONTAINER_TESTS=1 CI=true",
            "make docs MOCKBROKER_CONTAINER_TESTS=1 CI=true",
        ]
    else:
        assert f"SKIPPED - the container toolkit at {toolkit} needs root" in output
        assert calls == [
            "make test MOCKBROKER_CONTAINER_TESTS= CI=true",
            "make lint MOCKBROKER_CONTAINER_TESTS= CI=true",
            "make docs MOCKBROKER_CONTAINER_TESTS= CI=true",
        ]


def test_without_a_toolkit_the_container_tests_are_skipped_saying_where_it_was_looked_for(
    tmp_path: Path,
) -> None:
    repository, toolkit, tools = layout(tmp_path)
    shutil.rmtree(toolkit)
    output, calls = run_ci(repository, tools, tmp_path)
    assert f"container tests: SKIPPED - no container toolkit at {toolkit}" in output
    assert calls == [
        "make test MOCKBROKER_CONTAINER_TESTS= CI=true",
        "make lint MOCKBROKER_CONTAINER_TESTS= CI=true",
        "make docs MOCKBROKER_CONTAINER_TESTS= CI=true",
    ]


def test_a_toolkit_named_in_the_environment_wins(tmp_path: Path) -> None:
    repository, toolkit, tools = layout(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    shutil.move(toolkit, elsewhere)
    output, _ = run_ci(repository, tools, tmp_path, MOCKBROKER_CONTAINER_TOOLKIT=str(elsewhere))
    assert str(elsewhere) in output
    assert str(toolkit) not in output
