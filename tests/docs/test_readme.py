"""README.md stays a short tour: at most 300 lines, links that lead somewhere, and no
block that only it holds (every one is also on a page of the docs site)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.support.markdown import Block, blocks_of

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
MAX_LINES = 300
LINK = re.compile(r"\[[^\]]*\]\((?P<target>[^)\s]+)\)")


def readme_links() -> list[str]:
    """Every Markdown link target of the README outside its code blocks."""
    targets: list[str] = []
    fenced = False
    for line in README.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced:
            targets += [found.group("target") for found in LINK.finditer(line)]
    return targets


def nav_pages(entries: object) -> set[str]:
    """The pages mkdocs.yml's ``nav`` lists, at any depth."""
    if isinstance(entries, str):
        return {entries}
    if isinstance(entries, list):
        return set().union(*(nav_pages(entry) for entry in entries))
    if isinstance(entries, dict):
        return set().union(*(nav_pages(value) for value in entries.values()))
    return set()


def test_the_readme_is_at_most_300_lines() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_LINES, (
        f"README.md has {len(lines)} lines; at most {MAX_LINES}: move the details to docs/"
    )


def test_every_readme_link_into_the_docs_names_a_page_of_the_site() -> None:
    links = [target for target in readme_links() if target.startswith("docs/")]
    assert links, "the README links to the docs"
    missing = [target for target in links if not (ROOT / target.split("#")[0]).is_file()]
    assert missing == [], f"README.md links to files that do not exist: {missing}"
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=yaml.BaseLoader)
    listed = nav_pages(config["nav"])
    unlisted = [
        target
        for target in links
        if target.endswith(".md") and target.removeprefix("docs/") not in listed
    ]
    assert unlisted == [], f"README.md links to pages the site's nav does not list: {unlisted}"


def test_every_relative_readme_link_leads_to_a_file() -> None:
    relative = [
        target
        for target in readme_links()
        if not re.match(r"^(?:[a-z]+:|#)", target) and not target.startswith("docs/")
    ]
    missing = [target for target in relative if not (ROOT / target.split("#")[0]).exists()]
    assert missing == []


def test_every_readme_block_is_also_on_a_docs_page_with_the_same_marker() -> None:
    """The README repeats the docs; nothing is documented in it alone."""

    def key(block: Block) -> tuple[object, ...]:
        return (block.text, block.kind, block.argument, repr(sorted(block.options.items())))

    on_pages = {key(block) for page in DOCS.rglob("*.md") for block in blocks_of(page)}
    only_in_readme = [block.where for block in blocks_of(README) if key(block) not in on_pages]
    assert only_in_readme == []


def test_the_readme_performance_section_is_at_most_40_lines() -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Performance\n", 1)[1].split("\n## ", 1)[0]
    lines = ["## Performance", *section.strip("\n").splitlines()]
    assert len(lines) <= 40, f"the Performance section has {len(lines)} lines; at most 40"
