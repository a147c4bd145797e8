"""Fenced blocks of Markdown documents and the marker that says how each is tested.

Every fenced block of a tested document is preceded by an HTML comment (invisible
when rendered) on the line just above its opening fence::

    <!-- docs: run session=quickstart statuses="201 200 409" -->
    ```sh
    curl …
    ```

The first word is what the test does with the block:

``run``
    paste it into the session's shell (bash), as a reader pastes it into a terminal;
``output``
    a console transcript: run every ``$ command`` and compare what it prints with the
    lines below it;
``file PATH``
    write the block's text to PATH (relative to the session's folder), e.g. a catalog
    the following commands use;
``skip REASON…``
    not run here; the reason says why and what covers it instead.

The other words are ``key=value`` options (shell quoting), read by
:mod:`tests.support.doc_sessions`. Blocks with the same ``session`` run in document
order in one shell, so variables and files carry over as they do for a reader.
"""

from __future__ import annotations

import re
import shlex
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["KINDS", "Block", "MarkerError", "blocks_of", "sessions_of"]

KINDS = ("run", "output", "file", "skip")
MARKER = re.compile(r"^<!--\s*docs:\s*(?P<body>.*?)\s*-->\s*$")
FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")


class MarkerError(ValueError):
    """A marker that cannot be read, or a block without one."""


@dataclass(frozen=True)
class Block:
    document: Path
    line: int  # of the opening fence, 1-based
    language: str
    text: str
    kind: str | None  # None: no marker
    argument: str = ""  # the file's path for "file", the reason for "skip"
    options: dict[str, list[str]] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.document.name}:{self.line}"

    @property
    def session(self) -> str:
        """The shell the block runs in; blocks without one run on their own."""
        return self.option("session") or f"line-{self.line}"

    def option(self, key: str, default: str | None = None) -> str | None:
        values = self.options.get(key)
        return values[-1] if values else default

    def flag(self, key: str) -> bool:
        return key in self.options


def _marker(text: str, where: str) -> tuple[str, str, dict[str, list[str]]]:
    kind, _, rest = text.partition(" ")
    if kind not in KINDS:
        raise MarkerError(f"{where}: a docs marker starts with one of {', '.join(KINDS)}")
    if kind == "skip":
        if not rest.strip():
            raise MarkerError(f"{where}: 'skip' needs a reason")
        return kind, rest.strip(), {}
    try:
        words = shlex.split(rest)
    except ValueError as exc:
        raise MarkerError(f"{where}: the docs marker cannot be read: {exc}") from None
    argument = ""
    if kind == "file":
        if not words or "=" in words[0]:
            raise MarkerError(f"{where}: 'file' needs the path to write")
        argument, words = words[0], words[1:]
    options: dict[str, list[str]] = defaultdict(list)
    for word in words:
        key, equals, value = word.partition("=")
        options[key].append(value if equals else "")
    return kind, argument, dict(options)


def blocks_of(document: Path) -> list[Block]:
    """Every fenced block of ``document``, with its marker (if any)."""
    lines = document.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        fence = opening.group("fence")
        start = index
        index += 1
        body: list[str] = []
        while index < len(lines) and not lines[index].startswith(fence):
            body.append(lines[index])
            index += 1
        index += 1  # the closing fence
        where = f"{document.name}:{start + 1}"
        marker = MARKER.match(lines[start - 1]) if start > 0 else None
        kind, argument, options = (None, "", {})
        if marker:
            kind, argument, options = _marker(marker.group("body"), where)
        blocks.append(
            Block(
                document=document,
                line=start + 1,
                language=opening.group("info").strip().split(" ")[0],
                text="\n".join(body) + "\n",
                kind=kind,
                argument=argument,
                options=options,
            )
        )
    return blocks


def sessions_of(document: Path) -> dict[str, list[Block]]:
    """The document's tested blocks by session, in document order (skipped ones left out)."""
    sessions: dict[str, list[Block]] = {}
    for block in blocks_of(document):
        if block.kind not in (None, "skip"):
            sessions.setdefault(block.session, []).append(block)
    return sessions
