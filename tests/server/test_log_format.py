"""The JSON log format: one object per line, the request id on every line, secrets redacted."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx

from broker.logs import JsonLineFormatter, RedactingFilter, RequestIdFilter
from broker.redaction import REDACTED
from tests.support.servers import serve


def _line(record: logging.LogRecord) -> str:
    RequestIdFilter().filter(record)
    RedactingFilter().filter(record)
    return JsonLineFormatter().format(record)


def _record(msg: object, args: tuple[object, ...] = (), **extra: object) -> logging.LogRecord:
    return logging.getLogger("broker.test").makeRecord(
        "broker.test", logging.INFO, __file__, 1, msg, args, None, extra=extra or None
    )


def test_a_line_has_the_fixed_fields_then_the_extras_then_the_timestamp() -> None:
    record = _record("%s answered %d", ("GET /v2/catalog", 200), status=200, operation=None)
    record.created = datetime(2026, 1, 2, 3, 4, 5, 678000, UTC).timestamp()
    line = _line(record)
    assert line == (
        '{"level": "INFO", "logger": "broker.test", "request_id": "-", '
        '"message": "GET /v2/catalog answered 200", "status": 200, "operation": null, '
        '"timestamp": "2026-01-02T03:04:05.678000+00:00"}'
    )


def test_secrets_in_extras_arguments_and_dict_messages_are_redacted() -> None:
    extras = json.loads(_line(_record("x", password="p", nested={"api_token": "t", "ok": [1]})))
    assert extras["password"] == REDACTED
    assert extras["nested"] == {"api_token": REDACTED, "ok": [1]}
    arguments = ({"user": "u", "password": "p"},)
    message = json.loads(_line(_record("user %(user)s with %(password)s", arguments)))
    assert message["message"] == f"user u with {REDACTED}"
    fields = json.loads(_line(_record({"event": "login", "secret": "s"})))
    assert (fields["message"], fields["event"], fields["secret"]) == ("", "login", REDACTED)


def test_an_exception_is_written_as_text_and_odd_values_do_not_break_the_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.getLogger("broker.test").makeRecord(
            "broker.test",
            logging.ERROR,
            __file__,
            1,
            "failed",
            (),
            sys.exc_info(),
            extra={"when": datetime(2026, 1, 1, tzinfo=UTC), "path": Path("/x"), "raw": b"\xff"},
        )
    line = json.loads(_line(record))
    assert line["exc_info"].startswith("Traceback")
    assert line["exc_info"].endswith("ValueError: boom")
    assert line["when"] == "2026-01-01T00:00:00+00:00"
    assert (line["path"], line["raw"]) == ("/x", "\ufffd")


def test_every_request_is_logged_once_as_json_with_its_request_id(tmp_path: Path) -> None:
    with serve(tmp_path, workers=1) as server:
        answer = httpx.get(
            f"{server.url}/v2/catalog",
            auth=("broker", "broker"),
            headers={"X-Broker-API-Version": "2.17", "X-Request-ID": "trace-42"},
        )
        assert answer.status_code == 200
        lines = []
        for text in server.log().splitlines():
            if text.startswith("{"):
                lines.append(json.loads(text))
    mine = [line for line in lines if line.get("request_id") == "trace-42"]
    assert len(mine) == 1
    assert list(mine[0]) == [
        "level",
        "logger",
        "request_id",
        "message",
        "method",
        "path",
        "status",
        "duration_ms",
        "operation",
        "timestamp",
    ]
    assert mine[0]["message"].startswith("GET /v2/catalog 200 ")
    assert (mine[0]["logger"], mine[0]["status"]) == ("broker.request", 200)
    assert mine[0]["operation"] == "catalog"
    assert "broker:broker" not in server.log() and "YnJva2VyOmJyb2tlcg" not in server.log()
    # gunicorn's own lines go through the same handler, under a name of their own; its
    # access lines never appear.
    gunicorn = [line for line in lines if line["logger"] == "broker.server"]
    assert any(line["message"].startswith("Booting worker") for line in gunicorn)
    assert not any(line["logger"] == "gunicorn.access" for line in lines)


def test_only_errors_mention_error_in_the_server_log(tmp_path: Path) -> None:
    """Grepping a broker's log for "error" finds errors, not gunicorn's start-up lines."""
    with serve(tmp_path, workers=1) as server:
        assert httpx.get(f"{server.url}/livez").status_code == 200
    lines = [json.loads(text) for text in server.log().splitlines() if text.startswith("{")]
    assert [line["message"] for line in lines if line["logger"] == "broker.server"][:1] == [
        f"Starting gunicorn {gunicorn_version()}"
    ]
    mentions = [line for line in lines if "error" in json.dumps(line).lower()]
    assert mentions == []


def gunicorn_version() -> str:
    import gunicorn

    return str(gunicorn.__version__)
