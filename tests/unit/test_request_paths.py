"""A request's path from view to store crosses few files: the code reads top-down.

``python -m bench.trace`` counts the file switches of one request (see its docstring).
A provision once made 77 of them and a bind 92; the ceilings below are where they
stand now (a provision within half of its old count), so a change that sends a
request back and forth between modules again shows up here.
"""

from __future__ import annotations

import pytest

from bench.trace import trace_step

MAX_SWITCHES = {"provision": 38, "bind": 62}


@pytest.mark.parametrize("store", ["memory", "sqlite"])
@pytest.mark.parametrize("step", ["provision", "bind"])
def test_a_request_crosses_no_more_files_than_its_ceiling(step: str, store: str) -> None:
    status, trace = trace_step(step, store)
    assert status == 201
    assert trace.switches <= MAX_SWITCHES[step], "\n".join(trace.files)


def test_the_trace_starts_in_the_view_and_reaches_the_store() -> None:
    _, trace = trace_step("provision", "sqlite")
    assert trace.files[0] == trace.files[-1] == "broker/web/osb_api.py"
    assert any(name.startswith("broker/storage/") for name in trace.files)
