"""``python -m bench fixture``'s parts on a small project: it writes the test sets, runs
pytest on them and reads back what each test cost."""

from __future__ import annotations

from pathlib import Path

from bench.fixture import BUDGETS, report, run_suite, verdict, write_project


def test_the_bench_measures_a_small_project_of_each_set(tmp_path: Path) -> None:
    files = write_project(tmp_path / "project", 3, catalog_requests=20)
    assert sorted(path.name for path in files.values()) == [
        "test_bare.py",
        "test_catalog.py",
        "test_lifecycle.py",
        "test_noop.py",
    ]
    bare = run_suite(tmp_path / "project", files["pytest"], "pytest", 0)
    noop = run_suite(tmp_path / "project", files["no-op"], "no-op", 0)
    lifecycle = run_suite(tmp_path / "project", files["lifecycle"], "lifecycle", 0)
    catalog = run_suite(tmp_path / "project", files["catalog"], "catalog", 0)
    assert (noop.passed, noop.failed, lifecycle.passed, lifecycle.failed) == (3, 0, 3, 0)
    # The first test's setup (the session start) is kept out of the per-test figures.
    assert len(noop.per_test) == 2 and noop.first_setup > max(noop.per_test)
    assert all(call > 0 for call in lifecycle.calls)
    assert len(catalog.catalog) == len(catalog.catalog_app) == 20
    assert bare.passed == 3 and len(bare.per_test) == 2
    rows = report([bare, noop, lifecycle, catalog])
    assert [row["set"] for row in rows] == ["pytest", "no-op", "lifecycle", "catalog"]
    assert rows[3]["catalog_ms"] > 0 and rows[3]["catalog_app_ms"] > 0


def test_a_budget_is_met_up_to_its_value_and_missed_beyond() -> None:
    assert verdict(BUDGETS["overhead"], BUDGETS["overhead"]) == "met"
    assert verdict(BUDGETS["overhead"] + 0.001, BUDGETS["overhead"]) == "MISSED"
