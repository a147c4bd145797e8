"""Running the blocks of a document as a reader would, and checking what they print.

A :class:`DocSession` is one reader's terminal: a bash process in a folder holding
a copy of what the docs refer to (``examples/``, ``catalogs/``), with ``mockbroker``
on PATH as after ``. .venv/bin/activate``. Blocks (see :mod:`tests.support.markdown`)
are pasted into it one by one; each one's output is kept apart.

The docs talk to a broker at ``http://127.0.0.1:8080`` that the reader started with
``make run``. The session starts one the same way (``mockbroker serve``, on a free
port) and writes its real address wherever a block says ``127.0.0.1:8080``, in the
copied files too; what the commands print is mapped back before it is compared.
Options of a block's marker:

``session=NAME``      the shell it runs in (default: its own)
``statuses="201 …"``  the HTTP statuses it prints (lines ending in `` NNN``), in order
``contains=TEXT``     text its output holds (repeatable)
``exit=N``            the exit status of its last command (default 0)
``background``        it starts a broker and keeps running (``mockbroker serve …``):
                      started on a free port; later blocks reach it at the
                      address the docs give
``ports="8081 …"``    ports the blocks themselves start servers on: each becomes a
                      free port everywhere in the session
``services=postgres,…``  the local servers the docs use (their URLs are replaced
                      by the test run's own; the session skips when one is down)
``unordered=PREFIX``  (output) commands starting so print lines whose order and
                      repeats depend on timing: compared as sets
``vary=REGEX``        (output) text that differs on every run (repeatable)
``shown-cwd=PATH``    (output) the folder the transcript was made in
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.markdown import Block
from tests.support.servers import serve

__all__ = ["BlockResult", "DocSession", "Step", "describe", "normalised", "problems_of"]

ROOT = Path(__file__).resolve().parents[2]
DOCS_ADDRESS = "127.0.0.1"
DEFAULT_PORT = "8080"
# What the session folder holds: the parts of a checkout the docs' commands use.
COPIED = ("examples", "catalogs")
BLOCK_TIMEOUT = 120.0
# Programs the docs may use that a machine may lack (Makefile: docs-deps).
TOOLS = ("curl", "jq", "psql", "mysql", "redis-cli")
LISTENING = re.compile(r"listening on (http://\S+)")
STATUS_LINE = re.compile(r"^.* (\d{3})$")
PORT_IN_COMMAND = re.compile(r"(?:--port[ =]|BROKER_PORT=)(\d+)")
# A pasted block that fails this way did not work, whatever it printed.
SHELL_ERRORS = re.compile(
    r"command not found|syntax error|No such file or directory|unbound variable|^curl: \(\d+\)",
    re.M,
)
# Values that differ on every run, in console transcripts.
VOLATILE = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?", "<timestamp>"),
        (r"\b\d\d:\d\d:\d\d\b", "<clock>"),
        (r"\b[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\b", "<uuid4>"),
        (r"(?<![\w-])(?:\d+[dhms])+(?![\w-])", "<age>"),
        (r"(?<=Resource Version: )\d+", "<n>"),
    )
)


@dataclass
class Step:
    """One command of a console transcript: what the docs show and what it printed."""

    command: str
    expected: list[str]
    printed: str = ""


@dataclass
class BlockResult:
    block: Block
    text: str  # as pasted: the docs' addresses replaced by the session's
    stdout: str = ""
    stderr: str = ""
    exit_code: int = 0
    steps: list[Step] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((DOCS_ADDRESS, 0))
        return int(sock.getsockname()[1])


class DocSession:
    """The blocks of one session, run in order in one shell.

    ``service_urls(name)`` maps the URLs the docs write for a local server
    (``postgres``, ``mysql``, ``redis``) to the test run's own; it skips the test
    when the server is down. ``prepare(folder)`` may adjust the copied files.
    """

    def __init__(
        self,
        blocks: list[Block],
        folder: Path,
        *,
        service_urls: Callable[[str], Mapping[str, str]] | None = None,
        prepare: Callable[[Path], None] | None = None,
    ) -> None:
        self.blocks = blocks
        self.folder = folder
        self.service_urls = service_urls
        self.prepare = prepare
        self.substitutions: dict[str, str] = {}
        self.brokers: list[str] = []
        self.results: list[BlockResult] = []
        self._control = folder / ".docs"
        self._shell: subprocess.Popen[str] | None = None
        self._count = 0

    def option(self, key: str) -> list[str]:
        """An option's values over every block of the session."""
        return [value for block in self.blocks for value in block.options.get(key, [])]

    # --- running --------------------------------------------------------------------
    def run(self) -> list[BlockResult]:
        """Run every block; the results, in order (check them with :func:`problems_of`)."""
        with ExitStack() as stack:
            self._prepare(stack)
            for block in self.blocks:
                self.results.append(self._run_block(block, stack))
            self._release()
        return self.results

    def _prepare(self, stack: ExitStack) -> None:
        missing = [tool for tool in self.tools() if shutil.which(tool) is None]
        if missing:
            message = (
                f"the docs' commands use {', '.join(missing)}, not installed here "
                "(`make docs-deps` installs them)"
            )
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(message)
            pytest.skip(message)
        for name in COPIED:
            shutil.copytree(ROOT / name, self.folder / name)
        if self.prepare is not None:
            self.prepare(self.folder)
        self._control.mkdir()
        for name in ",".join(self.option("services")).split(","):
            if name and self.service_urls is not None:
                self.substitutions.update(self.service_urls(name))
        for port in " ".join(self.option("ports")).split():
            self.substitutions[port] = str(_free_port())
        started_by_blocks = {
            self._port_started_by(block) for block in self.blocks if block.flag("background")
        }
        uses_default = any(
            f"{DOCS_ADDRESS}:{DEFAULT_PORT}" in block.text
            for block in self.blocks
            if block.kind in ("run", "output")
        )
        if uses_default and DEFAULT_PORT not in started_by_blocks:
            # The broker the reader started with `make run` in another terminal.
            server = stack.enter_context(serve(self.folder.parent, workers=1))
            self._map_port(DEFAULT_PORT, server.url)
            self.brokers.append(server.url)
        log = stack.enter_context(open(self._control / "shell.log", "w"))
        stack.callback(self._stop_shell)
        self._shell = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            stdin=subprocess.PIPE,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.folder,
            env=self.environment(),
            text=True,
            start_new_session=True,
        )
        self._substitute_files(self.folder / "examples")

    def tools(self) -> list[str]:
        """The programs beyond bash and Python that the session's commands call."""
        texts = [block.text for block in self.blocks if block.kind in ("run", "output")]
        return [
            tool
            for tool in TOOLS
            if any(
                re.search(rf"(?:^|[\s|;&(`$]){re.escape(tool)}(?=\s)", text, re.M) for text in texts
            )
        ]

    def environment(self) -> dict[str, str]:
        """A reader's terminal after ``. .venv/bin/activate``; no BROKER_* or pytest state."""
        venv_bin = Path(sys.executable).parent
        keep = ("PATH", "LANG", "LC_ALL", "TMPDIR", "CI")
        environment = {key: os.environ[key] for key in keep if key in os.environ}
        environment.update(
            {
                "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
                "VIRTUAL_ENV": str(venv_bin.parent),
                "HOME": str(self.folder),
                "PYTHONUNBUFFERED": "1",  # output in the order a terminal shows it
                "TERM": "dumb",
                "COLUMNS": "100",
            }
        )
        return environment

    def _map_port(self, port: str, url: str) -> None:
        actual = url.removeprefix("http://")
        self.substitutions[f"{DOCS_ADDRESS}:{port}"] = actual

    @staticmethod
    def _port_started_by(block: Block) -> str:
        found = PORT_IN_COMMAND.search(block.text)
        return found.group(1) if found else DEFAULT_PORT

    def pasted(self, text: str) -> str:
        """``text`` as the session pastes it: the docs' addresses replaced."""
        for docs, actual in sorted(self.substitutions.items(), key=lambda item: -len(item[0])):
            if docs.isdigit():
                text = re.sub(rf"\b{docs}\b", actual, text)
            else:
                text = text.replace(docs, actual)
        return text

    def as_documented(self, text: str) -> str:
        """What a command printed, with the session's addresses written as the docs do."""
        for docs, actual in self.substitutions.items():
            if docs.isdigit():
                text = re.sub(rf"\b{actual}\b", docs, text)
            else:
                text = text.replace(actual, docs)
        return text.replace(str(self.folder), "<folder>")

    def _substitute_files(self, folder: Path) -> None:
        for path in folder.rglob("*"):
            if path.is_file() and path.suffix in (".yaml", ".yml", ".json"):
                text = path.read_text(encoding="utf-8")
                if self.pasted(text) != text:
                    path.write_text(self.pasted(text), encoding="utf-8")

    def _run_block(self, block: Block, stack: ExitStack) -> BlockResult:
        text = self.pasted(block.text)
        result = BlockResult(block, text)
        if block.kind == "file":
            target = self.folder / block.argument
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        elif block.kind == "run" and block.flag("background"):
            url = stack.enter_context(self._background(block, text))
            self._map_port(self._port_started_by(block), url)
            self.brokers.append(url)
        elif block.kind == "run":
            result.stdout, result.stderr, result.exit_code = self._paste(text)
        elif block.kind == "output":
            for step in transcript_steps(block.text):
                printed, _, _ = self._paste(self.pasted(step.command), merged=True)
                step.printed = printed
                result.steps.append(step)
        return result

    def _paste(self, text: str, *, merged: bool = False) -> tuple[str, str, int]:
        """Run ``text`` in the shell; (stdout, stderr, exit status of its last command)."""
        assert self._shell is not None and self._shell.stdin is not None
        self._count += 1
        base = self._control / str(self._count)
        errors = f"{base}.out" if merged else f"{base}.err"
        wrapped = (
            f"{{\n{text.rstrip()}\n}} > '{base}.out' 2>{'&1' if merged else repr(errors)}"
            f" < /dev/null\necho $? > '{base}.tmp' && mv '{base}.tmp' '{base}.done'\n"
        )
        self._shell.stdin.write(wrapped)
        self._shell.stdin.flush()
        done = Path(f"{base}.done")
        deadline = time.monotonic() + BLOCK_TIMEOUT
        while not done.exists():
            if self._shell.poll() is not None:
                raise AssertionError(f"the shell exited while running:\n{text}")
            if time.monotonic() > deadline:
                raise AssertionError(f"still running after {BLOCK_TIMEOUT:.0f} s:\n{text}")
            time.sleep(0.02)
        stdout = Path(f"{base}.out").read_text(errors="replace")
        stderr = "" if merged else Path(errors).read_text(errors="replace")
        return stdout, stderr, int(done.read_text())

    @contextmanager
    def _background(self, block: Block, text: str) -> Iterator[str]:
        """Start a block that serves (on a free port) and yield the URL it listens on."""
        command = PORT_IN_COMMAND.sub(lambda m: m.group(0)[: -len(m.group(1))] + "0", text)
        log = self._control / f"background-{block.line}.log"
        environment = {**self.environment(), "BROKER_PORT": "0"}
        environment["BROKER_DATA_DIR"] = str(self._control / f"data-{block.line}")
        with open(log, "w") as output:
            process = subprocess.Popen(
                ["bash", "-c", command],
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd=self.folder,
                env=environment,
                start_new_session=True,
            )
        try:
            deadline = time.monotonic() + 60
            while not (found := LISTENING.search(log.read_text(errors="replace"))):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        f"{block.where} did not start a broker:\n{log.read_text()}"
                    )
                time.sleep(0.05)
            url = found.group(1)
            while httpx.get(f"{url}/livez", timeout=5).status_code != 200:
                time.sleep(0.05)
            yield url
        finally:
            _stop_group(process)

    def _release(self) -> None:
        """Reset every broker the session used: real backends drop what they made."""
        for url in self.brokers:
            try:
                httpx.post(f"{url}/admin/reset", auth=("broker", "broker"), timeout=60)
            except httpx.HTTPError:
                pass

    def _stop_shell(self) -> None:
        if self._shell is not None:
            assert self._shell.stdin is not None
            self._shell.stdin.close()
            # Servers the blocks started with `&` are in the shell's process group.
            _stop_group(self._shell)


def _stop_group(process: subprocess.Popen[Any]) -> None:
    """Stop a process and everything in its process group (the servers it started)."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        pass
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.killpg(process.pid, 0)  # the leader is reaped: is anyone left?
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait(timeout=15)


def transcript_steps(text: str) -> list[Step]:
    """The ``$ command`` lines of a console block, each with the output shown below it."""
    steps: list[Step] = []
    continued = False
    for line in text.rstrip("\n").splitlines():
        if continued:
            steps[-1].command += "\n" + line
            continued = line.endswith("\\")
        elif line.startswith("$ "):
            steps.append(Step(line[2:], []))
            continued = line.endswith("\\")
        elif steps:
            steps[-1].expected.append(line)
    for step in steps:
        while step.expected and not step.expected[-1].strip():
            step.expected.pop()
    return steps


def normalised(lines: list[str], block: Block) -> list[str]:
    """Lines without what differs from run to run: times, ages, random ids, widths."""
    shown_cwd = block.option("shown-cwd")
    varying = [re.compile(pattern) for pattern in block.options.get("vary", [])]
    result = []
    for line in lines:
        if shown_cwd:
            line = line.replace("<folder>", shown_cwd)
        line = re.sub(r"[ \t]+", " ", line).rstrip()
        for pattern in varying:
            line = pattern.sub("<varies>", line)
        for pattern, replacement in VOLATILE:
            line = pattern.sub(replacement, line)
        result.append(line)
    while result and not result[-1]:
        result.pop()
    return result


def _run_together(line: str) -> bool:
    """Whether a line holds a JSON body with something glued to its end."""
    start = line.lstrip()
    if not start.startswith(("{", "[")):
        return False
    try:
        _, end = json.JSONDecoder().raw_decode(start)
    except ValueError:
        return False
    rest = start[end:]
    return bool(rest) and not rest.startswith((" ", "\t"))


def _placeholders(text: str) -> list[str]:
    """Lines that would paste an ellipsis (a value left for the reader) outside a comment."""
    return [line for line in text.splitlines() if "…" in line.split("#", 1)[0]]


def problems_of(result: BlockResult, session: DocSession) -> list[str]:
    """Why a block does not work as pasted (empty when it does)."""
    block = result.block
    if block.kind == "output":
        problems = []
        for step in result.steps:
            printed = session.as_documented(step.printed).splitlines()
            expected, actual = normalised(step.expected, block), normalised(printed, block)
            prefix = block.option("unordered")
            if prefix and step.command.startswith(prefix):
                expected, actual = sorted(set(expected)), sorted(set(actual))
            if expected != actual:
                problems.append(
                    f"$ {step.command}\n--- the docs show:\n"
                    + "\n".join(expected)
                    + "\n--- it printed:\n"
                    + "\n".join(actual)
                )
        return problems
    if block.kind != "run" or block.flag("background"):
        return []
    problems = [f"pastes a placeholder: {line.strip()}" for line in _placeholders(block.text)]
    output = result.stdout + result.stderr
    if result.exit_code != int(block.option("exit", "0") or 0):
        problems.append(f"its last command exited with {result.exit_code}")
    for line in result.stderr.splitlines():
        if SHELL_ERRORS.search(line):
            problems.append(f"the shell reported: {line}")
    if result.stdout and not result.stdout.endswith("\n"):
        problems.append("its output does not end with a newline (the prompt would follow it)")
    for line in result.stdout.splitlines():
        if _run_together(line):
            problems.append(f"two outputs run together on one line: {line[:200]}")
    expected_statuses = block.option("statuses")
    if expected_statuses is not None:
        printed = [
            int(m.group(1)) for line in result.stdout.splitlines() if (m := STATUS_LINE.match(line))
        ]
        if printed != [int(status) for status in expected_statuses.split()]:
            problems.append(f"printed the statuses {printed}, the docs say {expected_statuses}")
    for text in block.options.get("contains", []):
        if session.pasted(text) not in output:
            problems.append(f"printed no {text!r}")
    return problems


def describe(results: list[BlockResult], session: DocSession) -> str:
    """Every problem of a session's blocks, with what each printed."""
    parts = []
    for result in results:
        problems = problems_of(result, session)
        if problems:
            parts.append(
                f"{result.block.where} ({result.block.kind}):\n  "
                + "\n  ".join(problem.replace("\n", "\n    ") for problem in problems)
                + (
                    f"\n  stdout:\n{result.stdout}\n  stderr:\n{result.stderr}"
                    if result.block.kind == "run"
                    else ""
                )
            )
    return "\n\n".join(parts)
