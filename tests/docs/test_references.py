"""The site's generated references (docs/hooks/references.py) describe what exists.

The admin API page covers every admin route the application serves, and the command
line page shows every command's ``--help`` exactly as the command prints it.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import CliRunner
from flask import Flask

from broker.cli import main
from broker.web.openapi import build_openapi

ROOT = Path(__file__).resolve().parents[2]
HOOK = ROOT / "docs" / "hooks" / "references.py"
WIDTH = 100


@pytest.fixture(scope="module")
def references() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_references", HOOK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def help_of(*words: str) -> str:
    result = CliRunner().invoke(
        main, [*words, "--help"], prog_name="mockbroker", terminal_width=WIDTH
    )
    assert result.exit_code == 0, result.output
    return result.output


def command_paths(*words: str) -> list[tuple[str, ...]]:
    """Every command reachable from ``mockbroker WORDS``, read from the ``--help`` pages."""
    found = [words]
    text = help_of(*words)
    if "\nCommands:\n" in text:
        listing = text.split("\nCommands:\n", 1)[1]
        for line in listing.splitlines():
            name = re.match(r"^  (\S+)", line)
            if name:
                found += command_paths(*words, name.group(1))
    return found


def test_the_cli_reference_shows_every_commands_help_as_it_prints_it(
    references: ModuleType,
) -> None:
    page = references.on_page_markdown("# Command line\n\n<!-- generated: cli -->\n")
    paths = command_paths()
    assert ("ctl", "apply") in paths and ("serve",) in paths
    headings = re.findall(r"^## `(mockbroker[^`]*)`", page, re.M)
    assert sorted(headings) == sorted(" ".join(("mockbroker", *path)) for path in paths)
    for path in paths:
        assert f"```text\n{help_of(*path).rstrip()}\n```" in page, path


def test_the_admin_api_reference_covers_every_admin_route_of_the_application(
    references: ModuleType, app: Flask
) -> None:
    page = references.admin_api_reference(build_openapi())
    # Path parameters compared by place, not name: <operation_id> is {operation}.
    documented = {
        (method, re.sub(r"\{\w+\}", "{}", path))
        for method, path in re.findall(r"^### `([A-Z]+) (\S+)`", page, re.M)
    }
    served = {
        (method, re.sub(r"<(?:\w+:)?\w+>", "{}", rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(("/admin", "/livez", "/readyz", "/metrics"))
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }
    assert served and served <= documented, f"not in the reference: {served - documented}"


def test_the_admin_api_reference_describes_the_schemas_it_links_to(
    references: ModuleType,
) -> None:
    page = references.admin_api_reference(build_openapi())
    linked = set(re.findall(r"\]\(#(schema-[a-z0-9-]+)\)", page))
    defined = set(re.findall(r"^### \w+ \{#(schema-[a-z0-9-]+)\}", page, re.M))
    assert "schema-faultrule" in linked and linked <= defined, linked - defined
    assert "| `action` | [Action](#schema-action) | yes |" in page


def test_a_page_asking_for_an_unknown_generated_part_stops_the_build(
    references: ModuleType,
) -> None:
    from mkdocs.exceptions import PluginError

    with pytest.raises(PluginError, match="unknown generated part 'changelog'"):
        references.on_page_markdown("<!-- generated: changelog -->\n")
