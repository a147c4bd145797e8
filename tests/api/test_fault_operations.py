"""The operations a fault rule can match are exactly the OSB endpoints' names."""

from __future__ import annotations

from flask import Flask

from broker.faults import FAULT_OPERATIONS


def test_fault_operations_are_the_names_of_the_osb_endpoints(app: Flask) -> None:
    endpoints = {
        rule.endpoint.removeprefix("osb.")
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("osb.")
    }
    assert endpoints == set(FAULT_OPERATIONS)
    assert len(FAULT_OPERATIONS) == len(set(FAULT_OPERATIONS))


def test_every_osb_endpoint_runs_under_the_fault_rules(app: Flask) -> None:
    views = {name: view for name, view in app.view_functions.items() if name.startswith("osb.")}
    for name, view in views.items():
        assert getattr(view, "__wrapped__", None) is not None, f"{name} is not an osb_operation"
