"""The docs runner itself: it notices every way a pasted block can let a reader down.

Small Markdown documents written here, run like README.md is (tests/docs/test_docs.py).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.support.doc_sessions import DocSession, describe, normalised
from tests.support.markdown import Block, MarkerError, blocks_of, sessions_of


def document(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "doc.md"
    path.write_text(text)
    return path


def run(tmp_path: Path, text: str, session: str = "s") -> str:
    """Every problem the session's blocks have ("" when they work as pasted)."""
    path = document(tmp_path, text)
    runner = DocSession(sessions_of(path)[session], tmp_path / f"reader-{uuid.uuid4().hex}")
    return describe(runner.run(), runner)


def test_a_block_without_a_marker_is_found_and_a_marker_is_read(tmp_path: Path) -> None:
    path = document(
        tmp_path,
        "Text\n\n```sh\necho no marker\n```\n\n"
        '<!-- docs: run session=s statuses="201 200" contains=a contains="b c" -->\n'
        "```sh\necho marked\n```\n\n"
        "<!-- docs: file my-catalog/x.yaml session=s -->\n```yaml\na: 1\n```\n\n"
        "<!-- docs: skip it needs a browser's click -->\n```sh\nopen it\n```\n",
    )
    bare, marked, file, skipped = blocks_of(path)
    assert (bare.kind, bare.line, bare.language) == (None, 3, "sh")
    assert marked.kind == "run" and marked.session == "s"
    assert marked.options == {"session": ["s"], "statuses": ["201 200"], "contains": ["a", "b c"]}
    assert (file.kind, file.argument, file.text) == ("file", "my-catalog/x.yaml", "a: 1\n")
    assert (skipped.kind, skipped.argument) == ("skip", "it needs a browser's click")
    assert [block.line for block in sessions_of(path)["s"]] == [8, 13]


@pytest.mark.parametrize(
    "marker",
    [
        "<!-- docs: runn -->",
        "<!-- docs: skip -->",
        "<!-- docs: file -->",
        "<!-- docs: run a='b -->",
    ],
)
def test_a_marker_that_cannot_be_read_is_an_error(tmp_path: Path, marker: str) -> None:
    path = document(tmp_path, f"{marker}\n```sh\necho\n```\n")
    with pytest.raises(MarkerError, match="doc.md:2"):
        blocks_of(path)


def test_blocks_of_a_session_share_one_shell_and_its_folder(tmp_path: Path) -> None:
    problems = run(
        tmp_path,
        "<!-- docs: file notes.txt session=s -->\n```text\nwritten\n```\n\n"
        "<!-- docs: run session=s -->\n```sh\nGREETING=hello\ncd sub 2>/dev/null || true\n```\n\n"
        '<!-- docs: run session=s contains="hello written" -->\n'
        '```sh\necho "$GREETING $(cat notes.txt)"\n```\n',
    )
    assert problems == ""


def test_outputs_running_together_are_reported(tmp_path: Path) -> None:
    problems = run(
        tmp_path,
        "<!-- docs: run session=s -->\n```sh\nprintf '{\"a\": 1}'\nprintf '{\"b\": 2}\\n'\n```\n",
    )
    assert 'two outputs run together on one line: {"a": 1}{"b": 2}' in problems


def test_output_without_a_final_newline_is_reported(tmp_path: Path) -> None:
    problems = run(tmp_path, "<!-- docs: run session=s -->\n```sh\nprintf '{}'\n```\n")
    assert "does not end with a newline" in problems


def test_a_placeholder_left_for_the_reader_is_reported(tmp_path: Path) -> None:
    problems = run(
        tmp_path,
        "<!-- docs: run session=s -->\n```sh\n"
        "echo finish provision-…     # the id printed above\n"
        "echo fine                   # a comment may say provision-…\n```\n",
    )
    assert "pastes a placeholder: echo finish provision-…" in problems
    assert "pastes a placeholder: echo fine" not in problems


def test_statuses_text_and_failures_are_checked(tmp_path: Path) -> None:
    problems = run(
        tmp_path,
        '<!-- docs: run session=s statuses="201 200" contains=created -->\n'
        "```sh\necho '{} 201'\necho '{} 409'\nno-such-command\nfalse\n```\n",
    )
    assert "printed the statuses [201, 409], the docs say 201 200" in problems
    assert "printed no 'created'" in problems
    assert "no-such-command: command not found" in problems
    assert "its last command exited with 1" in problems


def test_a_transcript_is_compared_with_what_its_commands_print(tmp_path: Path) -> None:
    text = (
        "<!-- docs: output session=s -->\n```console\n"
        "$ printf 'NAME   AGE\\nqueue  7s\\n'\n"
        "NAME  AGE\nqueue  12s\n\n"
        "$ echo 10 classes\n8 classes\n```\n"
    )
    problems = run(tmp_path, text)
    assert "$ echo 10 classes\n    --- the docs show:\n    8 classes" in problems
    assert "printf" not in problems  # ages and column widths differ from run to run


def test_timing_dependent_lines_compare_as_sets_when_the_docs_say_so(tmp_path: Path) -> None:
    unordered = (
        '<!-- docs: output session=s unordered="printf" -->\n```console\n'
        "$ printf 'a\\nb\\na\\n'\nb\na\n```\n"
    )
    assert run(tmp_path, unordered) == ""
    assert "--- it printed:\n    a\n    b\n    a" in run(
        tmp_path, unordered.replace(' unordered="printf"', "")
    )


def test_volatile_values_are_normalised_but_ids_derived_from_names_are_not() -> None:
    block = Block(Path("doc.md"), 1, "console", "", "output", options={"vary": ["u_[a-z0-9]+"]})
    assert normalised(
        [
            "08:00:08  Provisioning  13s (x2 over 2m30s)  2026-11-27T08:00:06Z",
            "uid 06f5ed4b-2abf-4026-b9df-4658052c33ca  user u_ndnvth7t3mf7",
            "plan 5da93c4f-558d-50e0-9919-120f0d86edfd   default  ",
        ],
        block,
    ) == [
        "<clock> Provisioning <age> (x2 over <age>) <timestamp>",
        "uid <uuid4> user <varies>",
        "plan 5da93c4f-558d-50e0-9919-120f0d86edfd default",
    ]


def test_a_session_whose_programs_are_missing_skips_or_fails_under_ci(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support import doc_sessions

    monkeypatch.setattr(doc_sessions, "TOOLS", ("no-such-client",))
    text = "<!-- docs: run session=s -->\n```sh\nno-such-client --version\n```\n"
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="use no-such-client, not installed"):
        run(tmp_path, text)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="make docs-deps"):
        run(tmp_path, text)
