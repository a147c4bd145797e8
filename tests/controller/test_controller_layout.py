"""The controller's layout rules, read from its source: no import cycle (at file level,
function-level imports included), brokers reached only through ``broker.client``,
small modules and classes, a public surface per package, file names used once."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import broker

ROOT = Path(broker.__file__).resolve().parent
CONTROLLER = ROOT / "controller"
# The only modules of the rest of the project the controller may import: the OSB client
# (how it reaches brokers) and the standard-library-only message flattener it shares.
ALLOWED_OUTSIDE = {"broker.client", "broker.validation_messages"}
MAX_MODULE_LINES = 400
MAX_CLASS_LINES = 250


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def controller_files() -> list[Path]:
    return sorted(CONTROLLER.rglob("*.py"))


def imported_modules(path: Path, known: set[str]) -> Iterator[str]:
    """Every module ``path`` imports, anywhere in the file (functions and TYPE_CHECKING too)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            for alias in node.names:
                if f"{node.module}.{alias.name}" in known:
                    yield f"{node.module}.{alias.name}"


def import_graph() -> dict[str, set[str]]:
    known = {module_name(path) for path in controller_files()}
    return {
        module_name(path): {found for found in imported_modules(path, known) if found in known}
        for path in controller_files()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (as the list of modules around it), or None."""
    colour: dict[str, int] = {}
    trail: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = 1
        trail.append(node)
        for target in sorted(graph.get(node, ())):
            if colour.get(target) == 1:
                return trail[trail.index(target) :] + [target]
            if target not in colour:
                found = visit(target)
                if found:
                    return found
        trail.pop()
        colour[node] = 2
        return None

    for start in sorted(graph):
        if start not in colour:
            found = visit(start)
            if found:
                return found
    return None


def test_the_cycle_finder_finds_a_cycle_and_accepts_a_tree() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_no_module_of_the_controller_imports_itself_back() -> None:
    graph = import_graph()
    assert len(graph) > 30  # the whole package was read
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_controller_reaches_the_rest_of_the_project_only_through_the_client() -> None:
    known = {module_name(path) for path in controller_files()}
    outside: dict[str, set[str]] = {}
    for path in controller_files():
        for found in imported_modules(path, known):
            if found.startswith("broker.") and not found.startswith("broker.controller"):
                outside.setdefault(found, set()).add(module_name(path))
    assert set(outside) <= ALLOWED_OUTSIDE, outside
    assert {module.rpartition(".")[0] for module in outside["broker.client"]} == {
        "broker.controller.broker_access"
    }


def test_modules_and_classes_stay_small() -> None:
    too_long: list[str] = []
    for path in controller_files():
        text = path.read_text()
        if len(text.splitlines()) > MAX_MODULE_LINES:
            too_long.append(f"{path.relative_to(ROOT)}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef) and node.end_lineno is not None:
                length = node.end_lineno - node.lineno + 1
                if length > MAX_CLASS_LINES:
                    too_long.append(f"{path.relative_to(ROOT)}: class {node.name}: {length}")
    assert too_long == []


def test_every_package_names_its_public_surface() -> None:
    for folder in [CONTROLLER, *(path for path in CONTROLLER.rglob("*") if path.is_dir())]:
        if folder.name == "__pycache__":
            continue
        face = folder / "__init__.py"
        assert face.is_file(), f"{folder} has no __init__.py"
        tree = ast.parse(face.read_text())
        names = [
            target.id
            for node in tree.body
            if isinstance(node, ast.Assign)
            for target in node.targets
            if isinstance(target, ast.Name)
        ]
        assert "__all__" in names, f"{face} has no __all__"


def test_no_file_name_of_the_controller_is_used_twice_in_the_project() -> None:
    mine = [path.name for path in controller_files() if path.name != "__init__.py"]
    assert len(mine) == len(set(mine)), sorted(name for name in mine if mine.count(name) > 1)
    elsewhere = {path.name for path in ROOT.rglob("*.py") if CONTROLLER not in path.parents} - {
        "__init__.py"
    }
    assert sorted(set(mine) & elsewhere) == []
