"""The docs work as pasted: every block of README.md (and docs/) is run or checked.

Each fenced block carries a marker saying how (:mod:`tests.support.markdown`): shell
blocks are pasted into a reader's terminal against a real broker, console
transcripts are run and compared with what they show, catalogs and other files are
written where the following commands use them, and the few blocks that cannot run
here say why and what covers them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import yaml

from tests.support.doc_sessions import DocSession, describe
from tests.support.markdown import KINDS, blocks_of, sessions_of
from tests.support.postgres import fresh_schema
from tests.support.services import RUN, service_url

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [
    ROOT / "README.md",
    ROOT / "bench" / "README.md",
    *sorted((ROOT / "docs").rglob("*.md")),
]
SESSIONS = [(document, name) for document in DOCUMENTS for name in sessions_of(document)]
# The fence languages each kind of block may use.
LANGUAGES = {"run": {"sh", "bash"}, "output": {"console"}}


def test_every_block_of_the_docs_says_how_it_is_tested() -> None:
    unmarked = [
        f"{block.where} ({block.language})"
        for document in DOCUMENTS
        for block in blocks_of(document)
        if block.kind is None
    ]
    assert unmarked == [], f"add a '<!-- docs: {'|'.join(KINDS)} … -->' line above: {unmarked}"
    misfits = [
        f"{block.where}: a {block.kind} block in ```{block.language}"
        for document in DOCUMENTS
        for block in blocks_of(document)
        if block.kind in LANGUAGES and block.language not in LANGUAGES[block.kind]
    ]
    assert misfits == []


def test_the_docs_call_every_command_one_way() -> None:
    """``mockbroker``, ``pip``, ``pytest`` as on PATH after ``. .venv/bin/activate``."""
    prefixed = [
        f"{document.relative_to(ROOT)}:{number}: {line.strip()}"
        for document in DOCUMENTS
        for number, line in enumerate(document.read_text().splitlines(), 1)
        for command in re.findall(r"\.venv/bin/([\w.-]+)", line)
        if command != "activate"
    ]
    assert prefixed == []


@pytest.fixture
def service_urls() -> Iterator[object]:
    """The docs' URLs of local servers -> this test run's, for a session's ``services``."""
    with ExitStack() as stack:

        def urls(name: str) -> dict[str, str]:
            if name == "postgres":
                admin = service_url("postgres")
                return {
                    "postgresql://postgres@127.0.0.1:5432/postgres": admin,
                    # A store of its own for the replicas, dropped afterwards.
                    "postgresql://postgres@127.0.0.1:5432/test?schema=mockbroker": (
                        stack.enter_context(fresh_schema("docs"))
                    ),
                }
            if name == "mysql":
                return {"mysql://root@127.0.0.1:3306/": service_url("mysql")}
            if name == "redis":
                return {"redis://127.0.0.1:6379/0": service_url("redis")}
            raise AssertionError(f"the docs name an unknown service {name!r}")

        yield urls


def with_run_prefix(folder: Path) -> None:
    """Real backends name what they make for the docs after this test run.

    The docs' ids are fixed (``orders-db``): with the run's token as ``name_prefix``
    their databases, roles and keys neither meet another run's nor escape the
    leftover check at the end of the session.
    """
    for catalog in sorted((folder / "catalogs" / "real").glob("*.yaml")):
        document = yaml.safe_load(catalog.read_text())
        document.setdefault("mockbroker", {}).setdefault("credentials", {})["options"] = {
            "name_prefix": f"mbt{RUN}_"
        }
        catalog.write_text(yaml.safe_dump(document, sort_keys=False))


@pytest.mark.server
@pytest.mark.parametrize(
    ("document", "session"),
    SESSIONS,
    ids=[f"{document.relative_to(ROOT)}:{session}" for document, session in SESSIONS],
)
def test_the_docs_work_as_pasted(
    document: Path, session: str, tmp_path: Path, service_urls: object
) -> None:
    runner = DocSession(
        sessions_of(document)[session],
        tmp_path / "reader",
        service_urls=service_urls,  # type: ignore[arg-type]
        prepare=with_run_prefix,
    )
    results = runner.run()
    assert describe(results, runner) == ""
