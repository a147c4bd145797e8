"""Every module of broker/ reads in one sitting: at most 400 lines, no class over 250.

A module that outgrows this holds more than one concept; split it by concern rather
than raising the limit.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BROKER = Path(__file__).resolve().parents[2] / "broker"
MAX_MODULE_LINES = 400
MAX_CLASS_LINES = 250
MODULES = sorted(BROKER.rglob("*.py"))


def module_id(path: Path) -> str:
    return str(path.relative_to(BROKER.parent))


def class_lengths(path: Path) -> dict[str, int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name: (node.end_lineno or node.lineno) - node.lineno + 1
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
    }


def test_the_broker_package_has_modules_to_measure() -> None:
    assert len(MODULES) > 100, MODULES


@pytest.mark.parametrize("path", MODULES, ids=module_id)
def test_no_module_is_over_400_lines(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{module_id(path)} has {lines} lines"


@pytest.mark.parametrize("path", MODULES, ids=module_id)
def test_no_class_is_over_250_lines(path: Path) -> None:
    too_long = {name: n for name, n in class_lengths(path).items() if n > MAX_CLASS_LINES}
    assert not too_long, f"{module_id(path)}: {too_long}"


def test_a_class_is_measured_from_its_header_to_its_last_line(tmp_path: Path) -> None:
    source = tmp_path / "sample.py"
    source.write_text("class A:\n    x = 1\n\n    def f(self) -> None:\n        pass\n")
    assert class_lengths(source) == {"A": 5}
