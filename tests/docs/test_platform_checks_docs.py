"""The platform checks' documentation matches the rule catalogue: a page per rule,
quoting the sentence the rule enforces, and every rule in the overview."""

from __future__ import annotations

from pathlib import Path

import pytest

from broker.platform_checks.rules import RULES

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_each_rule_has_a_page_quoting_its_sentence_an_example_and_a_fix(rule_id: str) -> None:
    page = (DOCS / "rules" / f"{rule_id}.md").read_text()
    rule = RULES[rule_id]
    assert page.startswith(f"# `{rule_id}`")
    assert f"> {rule.quote}" in page
    assert f"**{rule.level}**" in page
    assert "## A request that breaks it" in page and "```sh" in page
    assert "## How to fix a platform that does" in page


def test_the_overview_lists_every_rule_and_no_other() -> None:
    overview = (DOCS / "platform-checks.md").read_text()
    for rule_id in RULES:
        assert f"[`{rule_id}`](rules/{rule_id}.md)" in overview
    pages = {path.stem for path in (DOCS / "rules").glob("*.md")}
    assert pages == set(RULES)


def test_the_readme_links_to_the_overview() -> None:
    readme = (DOCS.parent / "README.md").read_text()
    assert "(docs/platform-checks.md)" in readme
