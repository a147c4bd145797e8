"""GET /v2/catalog's fast path answers exactly as the Flask application does.

Every case is sent twice with the same headers: once through the application (the
fast path in front of Flask) and once to Flask's own WSGI application behind it.
Status, headers, body, the journal entry, the log line and the metrics must agree.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import Client

from broker.storage.base import JournalQuery
from broker.web.fast_path import CatalogFastPath
from broker.web.runtime import runtime_of
from tests.support.osb import OSB, basic, identity

GOOD = {"Authorization": basic(), "X-Broker-API-Version": "2.17"}
# Fields that differ between any two requests: when, how long, which id.
PER_REQUEST = ("time", "epoch", "duration_ms", "request_id")

CASES: dict[str, tuple[str, dict[str, str]]] = {
    "answered": ("/v2/catalog", GOOD),
    "identity echoed": ("/v2/catalog", {**GOOD, "X-Broker-API-Request-Identity": "id-1"}),
    "older version": ("/v2/catalog", {**GOOD, "X-Broker-API-Version": "2.13"}),
    "with a query": ("/v2/catalog?a=b&password=secret", GOOD),
    "with originating identity": (
        "/v2/catalog",
        {**GOOD, "X-Broker-API-Originating-Identity": identity()},
    ),
    "no credentials": ("/v2/catalog", {"X-Broker-API-Version": "2.17"}),
    "wrong credentials": ("/v2/catalog", {**GOOD, "Authorization": basic("broker", "nope")}),
    "no version header": ("/v2/catalog", {"Authorization": basic()}),
    "bad version header": ("/v2/catalog", {**GOOD, "X-Broker-API-Version": "1.0"}),
    "bad originating identity": (
        "/v2/catalog",
        {**GOOD, "X-Broker-API-Originating-Identity": "nonsense"},
    ),
    "NUL in the query": ("/v2/catalog?x=%00", GOOD),
}


def _fast_path(app: Flask) -> CatalogFastPath:
    fast = app.wsgi_app
    assert isinstance(fast, CatalogFastPath)
    return fast


def _exchange(
    app: Flask, wsgi: Any, path: str, headers: dict[str, str], caplog: pytest.LogCaptureFixture
) -> dict[str, Any]:
    """One request's answer and everything it left: journal entry, log line, metrics."""
    rt = runtime_of(app)
    before = rt.store.journal_query(JournalQuery())
    counted = _counted(app)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="broker.request"):
        response = Client(wsgi).get(path, headers=headers)
    entries = rt.store.journal_query(JournalQuery())
    new = [entry for entry in entries if entry not in before]
    lines = [
        {key: getattr(record, key) for key in ("method", "path", "status", "operation")}
        for record in caplog.records
        if record.name == "broker.request"
    ]
    return {
        "status": response.status,
        "headers": sorted(response.headers.items()),
        "body": response.get_data(),
        "journal": [
            {key: value for key, value in entry.items() if key not in (*PER_REQUEST, "id")}
            for entry in new
        ],
        "log lines": lines,
        "counted": _counted(app) - counted,
    }


def _counted(app: Flask) -> float:
    metrics = runtime_of(app).metrics
    return sum(
        sample.value
        for family in metrics.requests.collect()
        for sample in family.samples
        if sample.name.endswith("_total")
    )


@pytest.mark.parametrize("case", list(CASES))
def test_the_fast_path_answers_as_flask_does(
    app: Flask, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    path, headers = CASES[case]
    fast = _fast_path(app)
    through_fast = _exchange(app, app, path, headers, caplog)
    through_flask = _exchange(app, fast.flask_wsgi_app, path, headers, caplog)
    assert through_fast == through_flask
    assert through_fast["log lines"], "every answered request logs a line"
    assert through_fast["counted"] == 1


def test_a_catalog_etag_the_client_holds_is_answered_304_alike(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    etag = OSB(app.test_client()).get("/v2/catalog").headers["ETag"]
    headers = {**GOOD, "If-None-Match": etag}
    through_fast = _exchange(app, app, "/v2/catalog", headers, caplog)
    through_flask = _exchange(app, _fast_path(app).flask_wsgi_app, "/v2/catalog", headers, caplog)
    assert through_fast["status"].startswith("304")
    assert through_fast == through_flask


def test_a_plain_catalog_request_never_reaches_flask(app: Flask) -> None:
    fast = _fast_path(app)
    reached: list[str] = []

    def flask_wsgi_app(environ: dict[str, Any], start_response: Any) -> Any:
        reached.append(environ["PATH_INFO"])
        start_response("418 I'm a teapot", [])
        return [b""]

    fast.flask_wsgi_app = flask_wsgi_app
    client = Client(app)
    assert client.get("/v2/catalog", headers=GOOD).status_code == 200
    assert reached == []
    # Refused, or not the catalog: Flask's.
    assert client.get("/v2/catalog", headers={"Authorization": basic()}).status_code == 418
    assert client.post("/v2/catalog", headers=GOOD).status_code == 418
    assert client.get("/v2/catalog", headers=GOOD, data=b"{}").status_code == 418
    assert client.get("/v2/catalog/", headers=GOOD).status_code == 418
    assert reached == ["/v2/catalog"] * 3 + ["/v2/catalog/"]


def test_a_fault_rule_on_the_catalog_applies_on_the_fast_path(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    admin = OSB(app.test_client(), auth=basic("admin", "admin-secret"), version=None)
    rule = {"action": {"status": 503, "body": {"error": "Down"}}, "match": {"operation": "catalog"}}
    assert admin.post("/admin/faults", rule).status == 201
    through_fast = _exchange(app, app, "/v2/catalog", GOOD, caplog)
    through_flask = _exchange(app, _fast_path(app).flask_wsgi_app, "/v2/catalog", GOOD, caplog)
    assert through_fast["status"].startswith("503")
    assert through_fast == through_flask
    assert through_fast["journal"][0]["fault"] is not None


def test_a_rule_about_another_operation_leaves_the_catalog_alone(app: Flask) -> None:
    admin = OSB(app.test_client(), auth=basic("admin", "admin-secret"), version=None)
    rule = {"action": {"status": 500}, "match": {"operation": "bind"}}
    assert admin.post("/admin/faults", rule).status == 201
    assert runtime_of(app).faults.concern("catalog") is False
    assert OSB(app.test_client()).get("/v2/catalog").status == 200
