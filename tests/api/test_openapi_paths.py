"""The OpenAPI document describes exactly the paths and methods the application serves."""

from __future__ import annotations

import re

from flask import Flask

from broker.web.openapi import build_openapi

DESCRIBED_PREFIXES = ("/v2/", "/admin/")


def served(app: Flask) -> set[tuple[str, str]]:
    found = set()
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        if not path.startswith(DESCRIBED_PREFIXES):
            continue
        for method in rule.methods or ():
            if method not in ("HEAD", "OPTIONS"):
                found.add((path, method.lower()))
    return found


def test_every_served_osb_and_admin_route_is_described_and_nothing_else(app: Flask) -> None:
    document = build_openapi()
    described = {
        (path, method)
        for path, operations in document["paths"].items()
        if path.startswith(DESCRIBED_PREFIXES)
        for method in operations
        if method in ("get", "put", "post", "patch", "delete")
    }
    assert described == served(app)


def test_osb_operation_ids_are_the_endpoint_names(app: Flask) -> None:
    document = build_openapi()
    operation_ids = {
        operation["operationId"]
        for path, operations in document["paths"].items()
        if path.startswith("/v2/")
        for operation in operations.values()
        if isinstance(operation, dict) and "operationId" in operation
    }
    endpoints = {
        rule.endpoint.removeprefix("osb.")
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("osb.")
    }
    assert operation_ids == endpoints
