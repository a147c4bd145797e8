"""The request's log line is written without a LogRecord, byte for byte as logging writes it."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from broker.logs import REQUEST_ID, configure_logging
from broker.redaction import REDACTED
from broker.web import request_log
from broker.web.request_log import encode_line, log_request

# (request id, method, path, status, duration, operation): ordinary and hostile values.
Case = tuple[str, str, str, int, float, str | None]
CASES: list[Case] = [
    ("4f1c", "GET", "/v2/catalog", 200, 0.4251, "catalog"),
    ("trace-42", "PUT", "/v2/service_instances/i-1", 201, 12.005, "provision"),
    ("-", "DELETE", "/v2/service_instances/x", 410, 1.0, None),
    ("id\x1b[31m", "GET", "/v2/service_instances/a\n2026-01-01 INFO forged", 404, 0.05, None),
    ("ü-ø", "GET", "/v2/service_instances/d\u0085next-\u2028line", 404, 3.14159, None),
    ("x", "GET", "/v2/service_instances/postgres://app:pw@db:5432/x", 404, 2.0, None),
    ("password=hunter2", "GET", "/v2/x?password=a", 400, 2.5, "fetch_instance"),
    ("q", "GET", '/v2/"quoted"\\back\ttab', 404, 0.0, None),
    # Longer than the paths whose encoding is kept for the next line.
    ("long", "GET", "/v2/service_instances/" + "é\n=" * 100, 404, 0.25, "fetch_instance"),
]


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The broker's JSON logging, written to a buffer instead of stderr."""
    configure_logging("json", "INFO")
    handler = logging.getLogger("broker").handlers[0]
    stream = io.StringIO()
    previous = handler.setStream(stream)  # type: ignore[attr-defined]
    yield stream
    handler.setStream(previous)  # type: ignore[attr-defined]


@contextmanager
def broker_handler_alone() -> Iterator[None]:
    """pytest attaches its capture handlers to every non-propagating logger: aside."""
    broker = logging.getLogger("broker")
    others = broker.handlers[1:]
    for other in others:
        broker.removeHandler(other)
    try:
        yield
    finally:
        for other in others:
            broker.addHandler(other)


def through_logging(stream: io.StringIO, case: Case, created: float) -> str:
    request_id, method, path, status, duration, operation = case
    token = REQUEST_ID.set(request_id)
    try:
        record = request_log._record(method, path, status, duration, operation)
        record.created = created
        logging.getLogger("broker.request").handle(record)
    finally:
        REQUEST_ID.reset(token)
    return stream.getvalue()


@pytest.mark.parametrize("case", CASES, ids=[str(number) for number in range(len(CASES))])
def test_the_encoded_line_is_the_line_logging_writes(captured: io.StringIO, case: Case) -> None:
    created = 1767323045.678901
    expected = through_logging(captured, case, created)
    request_id, method, path, status, duration, operation = case
    line = encode_line(request_id, method, path, status, duration, operation, created)
    assert line == expected
    assert "\n" not in line[:-1] and line.isascii()


def test_a_request_line_goes_to_the_configured_handler_with_secrets_masked(
    captured: io.StringIO,
) -> None:
    with broker_handler_alone():
        log_request("r-1", "GET", "/v2/service_instances/postgres://u:sec@h/x", 404, 1.5, None, 0.0)
    line = json.loads(captured.getvalue())
    assert line["request_id"] == "r-1" and line["status"] == 404
    assert "sec@" not in captured.getvalue()
    assert REDACTED in line["path"] and REDACTED in line["message"]


def test_another_configuration_gets_a_log_record(
    captured: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    """A handler someone else added (here pytest's) sees the line as a record."""
    with broker_handler_alone():
        broker = logging.getLogger("broker")
        broker.addHandler(caplog.handler)
        try:
            log_request("r-2", "GET", "/v2/catalog", 200, 0.5, "catalog", 0.0)
        finally:
            broker.removeHandler(caplog.handler)
    assert [record.getMessage() for record in caplog.records] == ["GET /v2/catalog 200 0.5ms"]
    assert caplog.records[0].operation == "catalog"  # type: ignore[attr-defined]
    assert json.loads(captured.getvalue())["request_id"] == "-"
