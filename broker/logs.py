"""Logging: JSON or text lines, each carrying the request id it belongs to.

The request id lives in a :mod:`contextvars` variable set by the web layer; a
filter copies it onto every record, so even a backend's log line says which
request caused it. A second filter redacts secrets from every record's extras and
message arguments (passwords, credentials, Authorization headers), which is the
one place that guarantees they never reach a log.
"""

from __future__ import annotations

import contextvars
import dataclasses
import functools
import json
import logging
import logging.config
import math
import re
import sys
import time as clock
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any

from broker.redaction import REDACTED, is_sensitive, mask_text, redact

__all__ = [
    "LineHandler",
    "REQUEST_ID",
    "SERVER_LOGGER",
    "JsonLineFormatter",
    "TextLineFormatter",
    "configure_logging",
    "escape_controls",
    "utc_iso",
    "utc_iso_milliseconds",
]

# gunicorn's own lines (starting, workers, signals): see broker.serving.gunicorn_app.ServerLogger.
SERVER_LOGGER = "broker.server"

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
STANDARD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}
# Values that contain nothing to redact; checked by exact type.
PLAIN = frozenset({int, float, bool, type(None)})


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return True


class RedactingFilter(logging.Filter):
    """Applies :mod:`broker.redaction` to a record's extras, arguments and message."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = record.__dict__
        # Only the extras: the set difference runs in C, most records have a handful.
        for key in fields.keys() - STANDARD_ATTRIBUTES:
            value = fields[key]
            kind = type(value)
            if is_sensitive(key):
                fields[key] = REDACTED
            elif kind is str:
                if "@" in value or "=" in value:
                    fields[key] = mask_text(value)
            elif kind not in PLAIN:
                fields[key] = redact(value)
        args = record.args
        if args:
            if type(args) is tuple:
                for arg in args:  # a loop, not any(): this runs for every log line
                    if type(arg) is str and ("@" in arg or "=" in arg):
                        record.args = tuple(
                            mask_text(item) if type(item) is str else item for item in args
                        )
                        break
            elif isinstance(args, Mapping):
                record.args = redact(args)
        msg = record.msg
        if type(msg) is str:
            if "@" in msg or "=" in msg:
                record.msg = mask_text(msg)
        elif isinstance(msg, Mapping):  # a dict message: its keys are fields
            record.msg = redact(msg)
        return True


@functools.lru_cache(maxsize=4)
def _utc_second(seconds: int) -> str:
    return clock.strftime("%Y-%m-%dT%H:%M:%S", clock.gmtime(seconds))


def _utc_parts(epoch: float) -> tuple[str, int]:
    """``epoch`` as ``datetime.fromtimestamp(epoch, UTC)`` splits it: the second, as
    ``YYYY-MM-DDTHH:MM:SS``, and the microseconds, rounded half to even.

    A log line and a journal entry each carry a time: a datetime built for it
    costs more than the rest of the line, and requests share their second.
    """
    fraction, whole = math.modf(epoch)
    micro = round(fraction * 1e6)
    seconds = int(whole)
    if micro >= 1_000_000:
        seconds += 1
        micro -= 1_000_000
    elif micro < 0:  # before 1970
        seconds -= 1
        micro += 1_000_000
    return _utc_second(seconds), micro


def utc_iso(epoch: float) -> str:
    """``datetime.fromtimestamp(epoch, UTC).isoformat()``, for a fraction of its cost."""
    second, micro = _utc_parts(epoch)
    return f"{second}.{micro:06d}+00:00" if micro else f"{second}+00:00"


def utc_iso_milliseconds(epoch: float) -> str:
    """``epoch`` in ISO 8601 UTC to the millisecond (truncated), ending in ``Z``."""
    second, micro = _utc_parts(epoch)
    return f"{second}.{micro // 1000:03d}Z"


def _json_default(value: Any) -> Any:
    """What JSON cannot encode itself, as text (dates in ISO 8601)."""
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {value}"
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", "replace")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, type):
        return value.__name__
    try:
        return str(value)
    except Exception:  # a broken __str__ must not lose the line
        return repr(value)


# Fields the formatter writes itself, or never (the record's own attributes).
FORMATTED = STANDARD_ATTRIBUTES | {"request_id"}
RENAMED = {"levelname": "level", "name": "logger"}


class JsonLineFormatter(logging.Formatter):
    """The ``json`` log format: one JSON object per line.

    Keys, in this order: ``level``, ``logger``, ``request_id``, ``message``; then
    the keys of a dict logged as the message, ``exc_info`` and ``stack_info`` (as
    text) when present; then every extra of the record (``extra=``, by the name it
    was given); last ``timestamp``, the record's time in ISO 8601 UTC. Values JSON
    cannot encode are written as text. Written by hand: it sits on the path of every
    request, and the general-purpose formatter it replaces cost about twice as much.
    """

    _encoder = json.JSONEncoder(default=_json_default)

    def format(self, record: logging.LogRecord) -> str:
        fields = record.__dict__
        msg = record.msg
        if isinstance(msg, dict):
            from_message: dict[Any, Any] = {
                RENAMED.get(key, key): value for key, value in msg.items()
            }
            record.message = ""
        else:
            from_message = {}
            record.message = record.getMessage()
        line: dict[Any, Any] = {
            "level": record.levelname,
            "logger": record.name,
            "request_id": fields.get("request_id"),
            "message": record.message,
        }
        if record.exc_info and not from_message.get("exc_info"):
            from_message["exc_info"] = self.formatException(record.exc_info)
        if not from_message.get("exc_info") and record.exc_text:
            from_message["exc_info"] = record.exc_text
        if record.stack_info and not from_message.get("stack_info"):
            from_message["stack_info"] = self.formatStack(record.stack_info)
        if from_message:
            line.update(from_message)
        for key, value in fields.items():
            if key not in FORMATTED and key[:1] != "_":
                line[key] = value
        line["timestamp"] = utc_iso(record.created)
        return self._encoder.encode(line)


class LineHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that formats a record before it takes the handler's lock.

    With many threads logging a line per request, only the write is serialised;
    :class:`logging.StreamHandler` formats while holding the lock.
    """

    def handle(self, record: logging.LogRecord) -> bool:
        passed = self.filter(record)
        if isinstance(passed, logging.LogRecord):  # a filter may hand back a new record
            record = passed
        if not passed:
            return False
        try:
            line = self.format(record) + self.terminator
        except Exception:
            self.handleError(record)
            return True
        with self.lock:  # type: ignore[union-attr]
            try:
                self.stream.write(line)
                self.stream.flush()
            except RecursionError:
                raise
            except Exception:
                self.handleError(record)
        return True


# C0 and C1 control characters and DEL: a path or id holding "\n" must not start a line.
CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
NAMED_CONTROLS = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(match: re.Match[str]) -> str:
    char = match.group(0)
    return NAMED_CONTROLS.get(char) or f"\\x{ord(char):02x}"


def escape_controls(text: str) -> str:
    """``text`` with control characters written as escapes (``\\n``, ``\\x1b`` ...)."""
    return CONTROLS.sub(_escaped, text)


class TextLineFormatter(logging.Formatter):
    """The ``text`` log format: one line per record, whatever the record holds.

    Control characters in the message (a ``%0A`` in a requested path, an escape
    sequence in an id) are written as escapes, so a client cannot forge a line or
    drive the terminal. A traceback keeps its lines, each indented by four spaces:
    only the first line of a record starts at the left margin.
    """

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s [%(request_id)s] %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        record.message = escape_controls(record.message)
        record.request_id = escape_controls(str(getattr(record, "request_id", "-")))
        return super().formatMessage(record)

    def formatException(self, ei: Any) -> str:  # noqa: N802
        return _indented(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:  # noqa: N802
        return _indented(super().formatStack(stack_info))


def _indented(text: str) -> str:
    return "\n".join("    " + escape_controls(line) for line in text.splitlines())


def _handlers(log_format: str) -> dict[str, Any]:
    if log_format == "json":
        formatter: dict[str, Any] = {"()": JsonLineFormatter}
    else:
        formatter = {"()": TextLineFormatter}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": RequestIdFilter},
            "redact": {"()": RedactingFilter},
        },
        "formatters": {"default": formatter},
        "handlers": {
            "stderr": {
                "class": "broker.logs.LineHandler",
                "stream": "ext://sys.stderr",
                "formatter": "default",
                "filters": ["request_id", "redact"],
            }
        },
    }


def logging_config(log_format: str | None, level: str) -> dict[str, Any]:
    """A ``dictConfig`` for the broker and gunicorn (used as gunicorn's logconfig_dict)."""
    chosen = log_format or ("text" if sys.stderr.isatty() else "json")
    config = _handlers(chosen)
    config["root"] = {"handlers": ["stderr"], "level": "WARNING"}
    config["loggers"] = {
        "broker": {"handlers": ["stderr"], "level": level, "propagate": False},
        # Named here so the handler gunicorn attached to it is replaced by ours.
        SERVER_LOGGER: {"handlers": ["stderr"], "level": level, "propagate": False},
        # What applications write to wsgi.errors: errors indeed.
        "gunicorn.error": {"handlers": ["stderr"], "level": level, "propagate": False},
        # Requests are logged once, by the broker, with their request id.
        "gunicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
    }
    return config


def configure_logging(log_format: str | None, level: str) -> None:
    logging.config.dictConfig(logging_config(log_format, level))
    # Neither format shows threads or processes: don't collect them for every record
    # (the logging HOWTO's "Optimization" switches).
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
